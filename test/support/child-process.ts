import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * How long a fixture may take to send a message by default. A guard against a hung process, not
 * a latency goal: eight fixtures booting Nest at once on a loaded 2-core machine have taken over
 * 20 s to report ready.
 */
const MESSAGE_TIMEOUT_MS = 45_000;

/** A running fixture process that speaks JSON lines on stdout and takes JSON lines on stdin. */
export interface FixtureProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON message received so far, in order. */
  readonly messages: Record<string, unknown>[];
  /** Sends one JSON message on stdin. */
  send(message: Record<string, unknown>): void;
  /** Resolves with the first message (past or future) matching `predicate`. */
  waitForMessage(
    predicate: (message: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
  /** Kills the process (SIGKILL) unless it already exited, and waits for the exit. */
  kill(): Promise<void>;
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string;
}

/**
 * Starts a compiled fixture program. Fixtures are TypeScript under `libs/<lib>/test/fixtures/`
 * or `test/fixtures/`, compiled with the rest by `npm run build` (which `npm test` runs first),
 * so they run as plain Node with real decorator metadata.
 *
 * @param fixture path of the `.ts` source relative to the repo root, e.g.
 *   `libs/locks/test/fixtures/worker.ts`.
 */
export function startFixture(
  fixture: string,
  options: { env?: Record<string, string | undefined>; args?: string[] } = {},
): FixtureProcess {
  const compiled = `${ROOT}dist/${fixture.replace(/\.ts$/, '.js')}`;
  if (!existsSync(compiled)) {
    throw new Error(
      `${compiled} is missing: fixtures run compiled; run \`npm run build\` first (npm test does)`,
    );
  }
  const child = spawn(process.execPath, [compiled, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<{
    predicate: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not a protocol line (e.g. a log line)
    }
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid!,
    messages,
    send(message) {
      child.stdin?.write(`${JSON.stringify(message)}\n`);
    },
    waitForMessage(predicate, timeoutMs = MESSAGE_TIMEOUT_MS) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (m: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `fixture ${fixture} (pid ${child.pid}) sent no matching message within ${timeoutMs} ms; stderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: () => exit,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
    stderr: () => stderr,
  };
}
