import { describe, expect, it } from '@jest/globals';
import { runKeelMessaging } from './dlq-command.js';

/** Runs the CLI in process; only usage paths, which touch no broker or database. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runKeelMessaging(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}

describe('keel-messaging usage', () => {
  it('prints help, and names what is wrong with a command line (exit code 2)', async () => {
    expect(await cli(['--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('keel-messaging outbox <list|requeue>'),
    });
    expect((await cli([])).code).toBe(2);
    const cases: [string[], RegExp][] = [
      [['queue'], /unknown command 'queue'/],
      [['dlq'], /dlq needs an action: list, inspect or replay \(got none\)/],
      [['dlq', 'list', '--topic', 'x.dlq'], /no brokers/],
      [['dlq', 'list', '--brokers', 'b:1'], /--topic <dead-letter topic> is required/],
      [
        ['dlq', 'replay', '--brokers', 'b:1', '--topic', 'x.dlq', '--rate', '0'],
        /--rate must be a positive number/,
      ],
      [
        ['dlq', 'inspect', '--brokers', 'b:1', '--topic', 'x.dlq', '--offset', 'one'],
        /--offset must be a whole number/,
      ],
      [
        ['dlq', 'list', '--brokers', 'b:1', '--topic', 'x.dlq', '--since', 'yesterday'],
        /--since must be an ISO 8601 time/,
      ],
      [
        ['dlq', 'list', '--brokers', 'b:1', '--topic', 'x.dlq', '--bogus'],
        /Unknown option '--bogus'/,
      ],
      [['outbox'], /outbox needs an action: list or requeue/],
      [['outbox', 'list'], /no database/],
      [
        ['outbox', 'list', '--database-url', 'postgres://x', '--table-prefix', 'Bad-Name'],
        /--table-prefix must be a lowercase SQL identifier/,
      ],
      [
        ['outbox', 'requeue', '--database-url', 'postgres://x', '--id', 'nope'],
        /--id must be an event id/,
      ],
    ];
    for (const [argv, message] of cases) {
      const run = await cli(argv);
      expect(`${argv.join(' ')} → ${run.code}`).toBe(`${argv.join(' ')} → 2`);
      expect(run.stderr).toMatch(message);
    }
  });
});
