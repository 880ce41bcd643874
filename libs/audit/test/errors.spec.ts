import { describe, it } from '@jest/globals';
import { AUDIT_ERRORS, AuditError } from '@keel/audit';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/audit errors at the edge', () => {
  it('answer with the status of AUDIT_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(
      AUDIT_ERRORS,
      Object.keys(AUDIT_ERRORS).map(
        (code) => new AuditError(code as keyof typeof AUDIT_ERRORS, `a ${code}`),
      ),
    );
  });
});
