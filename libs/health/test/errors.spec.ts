import { describe, it } from '@jest/globals';
import { HEALTH_ERRORS, HealthProbeError } from '@keel/health';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/health errors at the edge', () => {
  it('answer with the status of HEALTH_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(HEALTH_ERRORS, [new HealthProbeError('LOADING')]);
  });
});
