import 'reflect-metadata';
import { isKeelConfigError } from '@keel/core';
import { startDemo } from './app.js';
import { DatabaseUnreachableError } from './database.js';

startDemo().catch((error: unknown) => {
  if (isKeelConfigError(error) || error instanceof DatabaseUnreachableError) {
    // One line per problem, no stack: the user has a setting to fix, not a bug to debug.
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
