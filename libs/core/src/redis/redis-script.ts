import { createHash } from 'node:crypto';
import { Command } from 'ioredis';
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

  /**
   * {@link run}, but written to the connection at once instead of joining ioredis'
   * auto-pipeline. For callers that batch their own calls (one call per tick): an auto-pipeline
   * is an object, a deferral and a callback hop per round trip, which on a sequential path cost
   * about 8–10 µs of client time per command (measured: SET NX PX plus a compare-and-delete,
   * 145–160 µs written directly against 160–183 µs auto-pipelined). Order among calls sent this
   * way is kept; relative to auto-pipelined commands issued in the same tick it is not.
   */
  send(
    client: KeelRedisClient,
    numberOfKeys: number,
    ...keysAndArgs: (string | number)[]
  ): Promise<TReply> {
    return command<TReply>(client, 'evalsha', this.sha, numberOfKeys, keysAndArgs).catch(
      (error: unknown) => {
        if (!isNoScriptError(error)) throw error;
        return command<TReply>(client, 'eval', this.lua, numberOfKeys, keysAndArgs);
      },
    );
  }
}

/**
 * Sends one command written to the connection at once, outside ioredis' auto-pipeline: for a
 * sequential caller that awaits each reply (a cache read on the call path), the pipeline's
 * deferral is pure latency — 20–25 µs per GET measured on this project's machine. Replies are
 * strings (or Buffers with `replies: 'buffer'`, for a caller that decodes only part of one);
 * the client's key prefix applies, as with ioredis' own command methods.
 * @internal
 */
export function sendNow<TReply>(
  client: KeelRedisClient,
  name: string,
  args: readonly (string | number)[],
  replies: 'string' | 'buffer' = 'string',
): Promise<TReply> {
  return client.sendCommand(
    new Command(name, [...args], {
      replyEncoding: replies === 'string' ? 'utf8' : null,
      keyPrefix: client.options.keyPrefix,
    }),
  ) as Promise<TReply>;
}

function command<TReply>(
  client: KeelRedisClient,
  name: 'evalsha' | 'eval',
  script: string,
  numberOfKeys: number,
  keysAndArgs: (string | number)[],
): Promise<TReply> {
  // The options ioredis' own command methods pass: string replies, the client's key prefix.
  return client.sendCommand(
    new Command(name, [script, numberOfKeys, ...keysAndArgs], {
      replyEncoding: 'utf8',
      keyPrefix: client.options.keyPrefix,
    }),
  ) as Promise<TReply>;
}

function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
