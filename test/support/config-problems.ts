import { expect } from '@jest/globals';
import { KeelConfigError } from '@keel/core';

/**
 * The problem lines of the `KeelConfigError` that `fn` throws; fails the test when `fn` returns
 * or throws anything else. For settings specs: `expect(configProblems(() => resolve…)).toEqual([…])`.
 */
export function configProblems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelConfigError);
    return (error as KeelConfigError).problems;
  }
  throw new Error('expected a KeelConfigError');
}
