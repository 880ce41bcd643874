/** Where the CLI writes and what it reads from its environment. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Bad usage of the command line: printed with the usage, exit code 2. Never leaves the CLI. */
export class UsageError extends Error {}

/**
 * What to tell the user when `error` is bad usage — ours, or node:util parseArgs' own
 * (`ERR_PARSE_ARGS_*`: an unknown or malformed flag) — else `undefined`. By code, not by class:
 * parseArgs' errors come from Node's realm, where `instanceof` in a VM context (Jest) fails.
 */
export function usageProblem(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.message;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' &&
    code.startsWith('ERR_PARSE_ARGS') &&
    typeof message === 'string'
    ? message
    : undefined;
}
