import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AuditVerifier, type AuditVerifyReport } from '../chain/audit-verifier.js';
import { CheckpointSigner } from '../chain/checkpoint-signer.js';
import type { AuditStore } from '../stores/audit.store.js';
import { FileAuditStore } from '../stores/file-audit.store.js';
import { PostgresAuditStore } from '../stores/postgres-audit.store.js';

/** Exit codes of `keel-audit`: documented in the README ("Verifying"). */
export const EXIT = { ok: 0, broken: 1, usage: 2, unavailable: 3 } as const;

const USAGE = `usage: keel-audit verify [options]

Walks every hash chain and signed checkpoint of an audit trail and reports the first broken
link of each chain. Exit code 0: intact; 1: a chain is broken; 2: bad usage; 3: the store
cannot be read.

  --database-url URL   PostgreSQL (default: $DATABASE_URL); only SELECT is needed
  --table-prefix NAME  table prefix of the PostgreSQL store (default: keel_audit)
  --dir DIR            the embedded file store's directory instead (stop the app first)
  --chain NAME         verify one chain only
  --public-key FILE    Ed25519 public key (PEM) that verifies the checkpoints
  --key-id ID          expected key id of the checkpoints (default: default)
  --json               print the report as JSON
  Checkpoints signed with HMAC are verified with the secret in $KEEL_AUDIT_CHECKPOINTS_KEY.
  Without a key, chains are checked but checkpoint signatures are not.
`;

/** Bad usage of the command line: printed, exit code 2. Never leaves the CLI. */
class UsageError extends Error {}

/** Where the CLI writes and what it reads from its environment. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface VerifyArgs {
  readonly store: AuditStore;
  readonly signer?: CheckpointSigner;
  readonly chain?: string;
  readonly json: boolean;
}

/** Runs `keel-audit <argv>`; resolves to the exit code. */
export async function runKeelAudit(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command !== 'verify') {
    io.stderr(`keel-audit: unknown command '${command}'\n${USAGE}`);
    return EXIT.usage;
  }
  let args: VerifyArgs;
  try {
    args = parseVerifyArgs(rest, io.env);
  } catch (error) {
    // parseArgs reports unknown or malformed flags with its own errors (ERR_PARSE_ARGS_*),
    // matched by code: they come from Node's realm, where instanceof fails in a VM (Jest).
    if (!(error instanceof UsageError || isParseArgsError(error))) throw error;
    io.stderr(`keel-audit: ${error.message}\n`);
    return EXIT.usage;
  }
  let report: AuditVerifyReport;
  try {
    await args.store.init();
    report = await new AuditVerifier(args.store, args.signer).verify(
      args.chain !== undefined ? { chain: args.chain } : {},
    );
  } catch (error) {
    const message = (error as Error).message;
    const hint = /does not exist/.test(message) ? ' (is --table-prefix right?)' : '';
    io.stderr(`keel-audit: cannot read the audit store: ${message}${hint}\n`);
    return EXIT.unavailable;
  } finally {
    await args.store.close().catch(() => undefined);
  }
  io.stdout(args.json ? JSON.stringify(report, null, 2) + '\n' : describe(report, args.signer));
  return report.ok ? EXIT.ok : EXIT.broken;
}

function parseVerifyArgs(argv: readonly string[], env: CliIo['env']): VerifyArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'database-url': { type: 'string' },
      'table-prefix': { type: 'string' },
      dir: { type: 'string' },
      chain: { type: 'string' },
      'public-key': { type: 'string' },
      'key-id': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const url = values['database-url'] ?? env['DATABASE_URL'];
  if (values.dir !== undefined && values['database-url'] !== undefined) {
    throw new UsageError('give --dir or --database-url, not both');
  }
  const prefix = values['table-prefix'] ?? 'keel_audit';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new UsageError(`--table-prefix must be a lowercase SQL identifier (got '${prefix}')`);
  }
  let store: AuditStore;
  if (values.dir !== undefined) {
    if (!existsSync(values.dir)) throw new UsageError(`--dir ${values.dir} does not exist`);
    store = new FileAuditStore({ directory: values.dir });
  } else if (url !== undefined)
    store = new PostgresAuditStore({ url, tablePrefix: prefix, readOnly: true, poolSize: 1 });
  else throw new UsageError('no store: give --database-url (or set DATABASE_URL) or --dir');
  const keyId = values['key-id'] ?? 'default';
  const secret = env['KEEL_AUDIT_CHECKPOINTS_KEY'];
  let signer: CheckpointSigner | undefined;
  if (values['public-key'] !== undefined) {
    signer = new CheckpointSigner(keyId, {
      publicKey: readFileSync(values['public-key'], 'utf8'),
    });
  } else if (secret !== undefined && secret.length > 0) {
    signer = new CheckpointSigner(keyId, { privateKey: secret });
  }
  return {
    store,
    ...(signer !== undefined ? { signer } : {}),
    ...(values.chain !== undefined ? { chain: values.chain } : {}),
    json: values.json,
  };
}

/** The report in plain words: one line per chain, then the verdict. */
function describe(report: AuditVerifyReport, signer: CheckpointSigner | undefined): string {
  const lines = report.chains.map((c) => {
    const what = `${c.chain}: ${c.checked} events, ${c.checkpoints} checkpoints`;
    if (c.firstBad === undefined) return `${what}: ok`;
    const bad = c.firstBad;
    return `${what}: BROKEN at seq ${bad.seq}${bad.id !== undefined ? ` (event ${bad.id})` : ''}: ${bad.reason} — ${bad.detail}`;
  });
  if (report.chains.length === 0) lines.push('no chains: the trail is empty');
  if (signer === undefined) {
    lines.push('checkpoint signatures not checked (no --public-key or KEEL_AUDIT_CHECKPOINTS_KEY)');
  }
  const broken = report.chains.filter((c) => c.firstBad !== undefined).length;
  lines.push(
    report.ok
      ? `verified: ${report.chains.length} chains intact`
      : `BROKEN: ${broken} of ${report.chains.length} chains`,
  );
  return lines.join('\n') + '\n';
}

function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
