#!/usr/bin/env node
// The `keel-messaging` command (the package's `bin`): `npx keel-messaging dlq list --help`.
import { runKeelMessaging } from './dlq-command.js';

process.exitCode = await runKeelMessaging(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
