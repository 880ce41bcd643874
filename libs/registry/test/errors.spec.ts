import { describe, it } from '@jest/globals';
import {
  NoInstanceAvailableError,
  REGISTRY_ERRORS,
  RegistryArgumentError,
  RegistryUnavailableError,
} from '@keel/registry';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/registry errors at the edge', () => {
  it('answer with the status of REGISTRY_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(REGISTRY_ERRORS, [
      new NoInstanceAvailableError('payments', 'none registered'),
      new RegistryArgumentError('consistent-hash needs a key'),
      new RegistryUnavailableError('Redis down'),
    ]);
  });
});
