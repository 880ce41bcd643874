import { spawn } from 'node:child_process';

/** What `promtool check metrics` said about an exposition. */
export interface PromtoolResult {
  /** promtool's exit code: 0 clean, 3 lint problems, 1 unparsable input. */
  readonly code: number | null;
  /** Its findings, one per line (empty when clean). */
  readonly problems: string[];
}

/** Path of promtool, from `.test-services/env.json` (`scripts/test-services.mjs ensure`). */
export function promtoolPath(): string {
  const value = process.env.PROMTOOL;
  if (!value) {
    throw new Error(
      'PROMTOOL is not set, so the exposition cannot be linted: run ' +
        '`node scripts/test-services.mjs ensure` (npm test does) or set it to a promtool binary',
    );
  }
  return value;
}

/**
 * Runs `promtool check metrics` (Prometheus' own linter: names, suffixes, units, HELP, parse)
 * on a Prometheus text exposition.
 */
export function promtoolCheckMetrics(exposition: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtoolPath(), ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({
        code,
        problems: output
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean),
      }),
    );
    child.stdin.end(exposition);
  });
}
