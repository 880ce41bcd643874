import { parseArgs } from 'node:util';
import type { IncomingRecord, OutgoingRecord } from '../kafka/message-transport.js';
import { readTopic } from '../kafka/topic-reader.js';
import { KafkajsTransport } from '../kafka/kafkajs-transport.js';
import { OUTBOX_USAGE, runOutboxCommand } from './outbox-command.js';
import { UsageError, usageProblem, type CliIo } from './cli-io.js';

/** Exit codes of `keel-messaging`: documented in the README ("Dead letters and replay"). */
export const EXIT = { ok: 0, usage: 2, unavailable: 3 } as const;

const USAGE = `usage: keel-messaging dlq <list|inspect|replay> --topic <dead-letter topic> [options]

Reads a dead-letter topic (<topic>.<group>.dlq) from its oldest record to its end; commits nothing.

  list                 one line per dead letter: partition/offset, key, event id, code, message
  inspect              every header and the value of the matching dead letters
  replay               republishes the matching dead letters to their original topic, with their
                       key, value and CloudEvents headers unchanged (same ce_id: consumers behind
                       @Idempotent skip what they already applied); the dead letters stay

  --brokers LIST       host:port,... (default: $KAFKA_BROKERS)
  --topic NAME         the dead-letter topic (required)
  --key KEY            only dead letters of this Kafka key
  --since TIME         only dead letters written at or after TIME (ISO 8601, or 30m, 2h, 1d ago)
  --offset N           only the dead letter at offset N (with --partition, default 0)
  --partition N        only dead letters of partition N
  --rate N             replay at most N records per second (default: 100)
  --dry-run            replay: say what would be sent, send nothing
  --json               list/inspect: one JSON object per line
`;

interface DlqArgs {
  readonly action: 'list' | 'inspect' | 'replay';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly key?: string;
  readonly since?: number;
  readonly offset?: string;
  readonly partition?: number;
  readonly rate: number;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** Runs `keel-messaging <argv>`; resolves to the exit code. */
export async function runKeelMessaging(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, action, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${USAGE}\n${OUTBOX_USAGE}`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === 'outbox') return runOutboxCommand(action, rest, io);
  let args: DlqArgs;
  try {
    if (command !== 'dlq') throw new UsageError(`unknown command '${command}'`);
    args = parseDlqArgs(action, rest, io.env);
  } catch (error) {
    const problem = usageProblem(error);
    if (problem === undefined) throw error;
    io.stderr(`keel-messaging: ${problem}\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    const matching: IncomingRecord[] = [];
    await readTopic({
      brokers: args.brokers,
      topic: args.topic,
      onRecord: (record) => {
        if (matches(record, args)) matching.push(record);
      },
    });
    if (args.action === 'replay') return await replay(matching, args, io);
    for (const record of matching)
      io.stdout(
        args.action === 'list' ? listLine(record, args.json) : inspectText(record, args.json),
      );
    if (!args.json) io.stderr(`${matching.length} dead letters${filtersText(args)}\n`);
    return EXIT.ok;
  } catch (error) {
    io.stderr(
      `keel-messaging: cannot read ${args.topic} from ${args.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.unavailable;
  }
}

function parseDlqArgs(
  action: string | undefined,
  argv: readonly string[],
  env: CliIo['env'],
): DlqArgs {
  if (action !== 'list' && action !== 'inspect' && action !== 'replay') {
    throw new UsageError(
      `dlq needs an action: list, inspect or replay (got ${action === undefined ? 'none' : `'${action}'`})`,
    );
  }
  const { values } = parseArgs({
    args: [...argv],
    options: {
      brokers: { type: 'string' },
      topic: { type: 'string' },
      key: { type: 'string' },
      since: { type: 'string' },
      offset: { type: 'string' },
      partition: { type: 'string' },
      rate: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const brokers = (values.brokers ?? env['KAFKA_BROKERS'] ?? env['KEEL_KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0) throw new UsageError('no brokers: give --brokers or set KAFKA_BROKERS');
  if (values.topic === undefined) throw new UsageError('--topic <dead-letter topic> is required');
  if (!values.topic.endsWith('.dlq'))
    throw new UsageError(
      `--topic must name a dead-letter topic (<topic>.<group>.dlq), got '${values.topic}'`,
    );
  const rate = values.rate === undefined ? 100 : Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0)
    throw new UsageError(
      `--rate must be a positive number of records per second (got '${values.rate}')`,
    );
  if (values.offset !== undefined && !/^\d+$/.test(values.offset))
    throw new UsageError(`--offset must be a whole number (got '${values.offset}')`);
  const partition =
    values.partition === undefined
      ? values.offset !== undefined
        ? 0
        : undefined
      : Number(values.partition);
  if (partition !== undefined && !Number.isInteger(partition))
    throw new UsageError(`--partition must be a whole number (got '${values.partition}')`);
  return {
    action,
    brokers,
    topic: values.topic,
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(values.since !== undefined ? { since: parseSince(values.since) } : {}),
    ...(values.offset !== undefined ? { offset: values.offset } : {}),
    ...(partition !== undefined ? { partition } : {}),
    rate,
    dryRun: values['dry-run'],
    json: values.json,
  };
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time, or a duration ago (`30m`). */
function parseSince(text: string): number {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative !== null) return Date.now() - Number(relative[1]) * UNITS[relative[2]!]!;
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new UsageError(
      `--since must be an ISO 8601 time or a duration like 30m, 2h, 1d (got '${text}')`,
    );
  return at;
}

function matches(record: IncomingRecord, args: DlqArgs): boolean {
  if (args.key !== undefined && record.key !== args.key) return false;
  if (args.partition !== undefined && record.partition !== args.partition) return false;
  if (args.offset !== undefined && record.offset !== args.offset) return false;
  if (args.since !== undefined) {
    const at = Date.parse(record.headers['keel-dlt-time'] ?? '') || record.timestamp;
    if (at < args.since) return false;
  }
  return true;
}

function summary(record: IncomingRecord) {
  const h = record.headers;
  return {
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    id: h['ce_id'],
    type: h['ce_type'],
    originalTopic: h['keel-dlt-original-topic'],
    originalPartition: h['keel-dlt-original-partition'],
    originalOffset: h['keel-dlt-original-offset'],
    group: h['keel-dlt-consumer-group'],
    code: h['keel-dlt-exception-code'],
    message: h['keel-dlt-exception-message'],
    attempts: h['keel-dlt-attempts'],
    deadLetteredAt: h['keel-dlt-time'],
  };
}

function listLine(record: IncomingRecord, json: boolean): string {
  const s = summary(record);
  if (json) return `${JSON.stringify(s)}\n`;
  return `${s.partition}/${s.offset}  key=${s.key ?? '-'}  id=${s.id ?? '-'}  from ${s.originalTopic}[${s.originalPartition}]@${s.originalOffset}  ${s.code}: ${s.message}  (${s.attempts} attempts, ${s.deadLetteredAt})\n`;
}

function inspectText(record: IncomingRecord, json: boolean): string {
  const value = record.value === null ? null : record.value.toString();
  if (json) return `${JSON.stringify({ ...summary(record), headers: record.headers, value })}\n`;
  const headers = Object.entries(record.headers)
    .map(([name, v]) => `  ${name}: ${v}`)
    .join('\n');
  return `--- ${record.topic} ${record.partition}/${record.offset} key=${record.key ?? '-'}\n${headers}\nvalue: ${value ?? '(none)'}\n`;
}

function filtersText(args: DlqArgs): string {
  const parts = [
    args.key !== undefined ? `key ${args.key}` : undefined,
    args.since !== undefined ? `since ${new Date(args.since).toISOString()}` : undefined,
    args.offset !== undefined ? `offset ${args.partition ?? 0}/${args.offset}` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** The record as first published: its key, value and headers, without Keel's dlt/retry headers. */
function original(record: IncomingRecord): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!name.startsWith('keel-dlt-') && !name.startsWith('keel-retry-')) headers[name] = value;
  }
  return { key: record.key, value: record.value ?? '', headers };
}

/** Republishes at `--rate`, in dead-letter order (per partition: the order they failed in). */
async function replay(
  records: readonly IncomingRecord[],
  args: DlqArgs,
  io: CliIo,
): Promise<number> {
  const missing = records.filter((r) => r.headers['keel-dlt-original-topic'] === undefined);
  if (missing.length > 0) {
    io.stderr(
      `keel-messaging: ${missing.length} records have no keel-dlt-original-topic header and are skipped\n`,
    );
  }
  const sendable = records.filter((r) => r.headers['keel-dlt-original-topic'] !== undefined);
  if (args.dryRun) {
    for (const record of sendable)
      io.stdout(
        `would replay ${record.partition}/${record.offset} to ${record.headers['keel-dlt-original-topic']} (key ${record.key ?? '-'})\n`,
      );
    io.stderr(`${sendable.length} dead letters would be replayed (dry run)\n`);
    return EXIT.ok;
  }
  const transport = new KafkajsTransport({
    brokers: args.brokers,
    clientId: 'keel-messaging-cli',
    connectionTimeoutMs: 3_000,
    retries: 5,
  });
  const started = Date.now();
  try {
    for (let i = 0; i < sendable.length; i++) {
      // Paced: record i leaves no earlier than i / rate seconds after the first.
      const wait = started + (i * 1_000) / args.rate - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const record = sendable[i]!;
      await transport.send(record.headers['keel-dlt-original-topic']!, [original(record)]);
    }
  } finally {
    await transport.close();
  }
  const seconds = (Date.now() - started) / 1_000;
  io.stdout(
    `replayed ${sendable.length} dead letters from ${args.topic} in ${seconds.toFixed(1)} s\n`,
  );
  return EXIT.ok;
}
