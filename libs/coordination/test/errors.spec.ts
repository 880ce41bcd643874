import { describe, it } from '@jest/globals';
import {
  BulkheadRejectedError,
  COORDINATION_ERRORS,
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
  ValidationFailedError,
} from '@keel/coordination';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/coordination errors at the edge', () => {
  it('answer with the status of COORDINATION_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(COORDINATION_ERRORS, [
      new ValidationFailedError([{ path: 'dto.qty', message: 'must be positive' }], 'A.b'),
      new CircuitOpenError('psp', 'open', 1_000),
      new BulkheadRejectedError('psp', 'full', 1_000),
      new TimeoutError(100, 'A.b'),
      new RateLimitedError({
        limit: 'psp',
        quota: 100,
        perMs: 1_000,
        retryAfterMs: 10,
        resetMs: 1_000,
      }),
    ]);
  });
});
