#!/usr/bin/env node
// The `keel-audit` command (the package's `bin`): `npx keel-audit verify --help`.
import { runKeelAudit } from './verify-command.js';

process.exitCode = await runKeelAudit(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
