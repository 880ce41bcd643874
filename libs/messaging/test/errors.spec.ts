import { describe, it } from '@jest/globals';
import { MESSAGING_ERRORS, MessagingError } from '@keel/messaging';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/messaging errors at the edge', () => {
  it('answer with the status of MESSAGING_ERRORS over HTTP and RPC', async () => {
    await expectErrorsReachTheEdge(
      MESSAGING_ERRORS,
      Object.keys(MESSAGING_ERRORS).map(
        (code) => new MessagingError(code as keyof typeof MESSAGING_ERRORS, `a ${code}`),
      ),
    );
  });
});
