import { createHash } from 'node:crypto';
import type { KeelRedisClient } from './redis-connection.factory.js';

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` (which also caches it) when the server
 * does not have it — first use, after a restart, after `SCRIPT FLUSH`.
 *
 * Keel does not use ioredis' `defineCommand`: ioredis copies every defined command onto each
 * pipeline it builds, and with auto-pipelining it builds one per round trip, so each defined
 * script made every command on the connection slower (measured: a pipeline costs 4–6 µs to
 * build with one defined script and 10–11 µs with twelve).
 * @publicApi
 */
export class RedisScript<TReply = unknown> {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script with the first `numberOfKeys` of `keysAndArgs` as KEYS, the rest as ARGV. */
  run(
    client: KeelRedisClient,
    numberOfKeys: number,
    ...keysAndArgs: (string | number)[]
  ): Promise<TReply> {
    return (client.evalsha(this.sha, numberOfKeys, ...keysAndArgs) as Promise<TReply>).catch(
      (error: unknown) => {
        if (!isNoScriptError(error)) throw error;
        return client.eval(this.lua, numberOfKeys, ...keysAndArgs) as Promise<TReply>;
      },
    );
  }
}

function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
