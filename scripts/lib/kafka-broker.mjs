// Building and launching the Kafka test broker (scripts/kafka-mock-broker.c); shared by
// scripts/test-services.mjs and test/support/fault-servers.ts so both build it the same way.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATE_DIR = path.join(ROOT, '.test-services');
export const BROKER_SOURCE = path.join(ROOT, 'scripts', 'kafka-mock-broker.c');
export const BROKER_BINARY = path.join(STATE_DIR, 'kafka-mock-broker');

/**
 * Topics the shared test broker pre-creates (the mock does not implement CreateTopics). Add a
 * topic here when a suite needs a specific partition count; any other topic auto-creates with 4
 * partitions on its first Metadata or Produce request.
 */
export const DEFAULT_TOPICS = Object.freeze({
  'keel.events': 4,
  'keel.events.retry': 4,
  'keel.events.dlq': 1,
  'keel.audit': 1,
  'orders.events': 3,
});

/** What building the broker needs: [what, Debian package, present?]. */
export function brokerBuildPrereqs() {
  return [
    ['gcc', 'gcc', hasCommand('gcc')],
    ['C library headers', 'libc6-dev', fs.existsSync('/usr/include/stdio.h')],
    [
      'librdkafka mock API headers',
      'librdkafka-dev',
      fs.existsSync('/usr/include/librdkafka/rdkafka_mock.h'),
    ],
  ];
}

export function hasCommand(name) {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, name), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Builds the broker into .test-services/ when it is missing or older than its source and returns
 * the binary's path. Builds to a temporary name and renames, so concurrent callers (Jest workers)
 * never run a half-written file.
 */
export async function ensureBrokerBinary() {
  const built = mtimeMs(BROKER_BINARY);
  if (built !== undefined && built >= (mtimeMs(BROKER_SOURCE) ?? 0)) return BROKER_BINARY;
  const missing = brokerBuildPrereqs().filter(([, , ok]) => !ok);
  if (missing.length > 0) {
    throw new Error(
      `cannot build the Kafka test broker: missing ${missing.map(([what]) => what).join(', ')} ` +
        `(Debian: apt-get install -y ${missing.map(([, pkg]) => pkg).join(' ')})`,
    );
  }
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${BROKER_BINARY}.${process.pid}.tmp`;
  try {
    await execFileAsync('gcc', ['-O2', '-Wall', '-o', tmp, BROKER_SOURCE, '-lrdkafka']);
    fs.renameSync(tmp, BROKER_BINARY);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`building the Kafka test broker failed: ${err.stderr || err.message}`, {
      cause: err,
    });
  }
  return BROKER_BINARY;
}

/** Command-line arguments for the broker. topics: { name: partitions }. */
export function brokerArgs({ brokers = 1, port, topics = {}, daemon = false } = {}) {
  const args = ['--brokers', String(brokers)];
  if (port) args.push('--port', String(port));
  for (const [name, partitions] of Object.entries(topics)) {
    args.push('--topic', `${name}:${partitions}`);
  }
  if (daemon) args.push('--daemon');
  return args;
}

/** The broker list from the broker's first stdout line, or undefined if it is not there. */
export function parseBootstrapLine(text) {
  const match = /^BOOTSTRAP (\S+)$/m.exec(text);
  return match ? match[1].split(',') : undefined;
}
