import { describe, it } from '@jest/globals';
import {
  DeadlockError,
  FencedRowNotFoundError,
  InvalidLockKeyError,
  LOCKS_ERRORS,
  LockLostError,
  LockQuorumError,
  LockTimeoutError,
  LocksError,
  StaleFencingTokenError,
} from '@keel/locks';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/locks errors at the edge', () => {
  it('answer with the status of LOCKS_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(LOCKS_ERRORS, [
      new LockTimeoutError('order:1', 10),
      new DeadlockError('order:1', [{ chain: 'c1', waitsFor: 'order:2' }]),
      new LockLostError('order:1', 'expired'),
      new StaleFencingTokenError('orders row 1', 7),
      new LockQuorumError('order:1', 2, ['a: down', 'b: down']),
      new LocksError('KEEL_LOCKS_SHUT_DOWN', 'shut down'),
      new LocksError('KEEL_LOCKS_UNSUPPORTED', 'no semaphores on the quorum store'),
      new InvalidLockKeyError('order:}1', "it contains '}'"),
      new FencedRowNotFoundError('Account', '{"id":404}', 7),
    ]);
  });
});
