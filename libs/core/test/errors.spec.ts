import { describe, it } from '@jest/globals';
import {
  CORE_ERRORS,
  InvalidTenantError,
  KeelArgumentError,
  KeelConfigError,
  KeelDeadlineError,
  KeelDecoratorError,
  KeelPolicyNotInitializedError,
  KeelRedisClosedError,
  KeyTemplateValueError,
} from '@keel/core';
import { expectErrorsReachTheEdge } from '../../../test/support/error-edge.js';

describe('@keel/core errors at the edge', () => {
  it("maps every @keel/core error code to its table's status, over HTTP and RPC", async () => {
    await expectErrorsReachTheEdge(CORE_ERRORS, [
      new KeelConfigError(['KEEL_X: bad']),
      new KeelDecoratorError('A.b: bad'),
      new KeelPolicyNotInitializedError('A.b: not built'),
      new KeyTemplateValueError("placeholder '{id}' is undefined"),
      new KeelRedisClosedError('closed'),
      new KeelDeadlineError('no answer within 5 ms'),
      new KeelArgumentError('bad argument'),
      new InvalidTenantError('acme corp'),
    ]);
  });
});
