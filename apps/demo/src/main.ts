import 'reflect-metadata';
import { isKeelConfigError } from '@keel/core';
import { startDemo } from './app.js';

startDemo().catch((error: unknown) => {
  if (isKeelConfigError(error)) {
    // One line per problem, no stack: the user has a typo to fix, not a bug to debug.
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
