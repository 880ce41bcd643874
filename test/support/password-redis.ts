// A private redis-server that requires a password, for tests that prove no credential leaks into
// health output, logs or metrics. startRedisServer() pings without one, so the password is set
// once the server answers.
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from './fault-servers.js';

/** A {@link RedisServerHandle} whose server requires `password` (until it is restarted). */
export interface PasswordRedisHandle {
  readonly server: RedisServerHandle;
  readonly password: string;
  /** `redis://[user]:<password>@127.0.0.1:<port>`, with `password` unless another is given. */
  url(options?: { user?: string; password?: string }): string;
}

/** Starts a private redis-server and sets `requirepass` on it. */
export async function startPasswordRedis(password: string): Promise<PasswordRedisHandle> {
  const server = await startRedisServer();
  const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    await admin.config('SET', 'requirepass', password);
  } finally {
    admin.disconnect();
  }
  return {
    server,
    password,
    url: ({ user = '', password: given = password } = {}) =>
      `redis://${encodeURIComponent(user)}:${encodeURIComponent(given)}@127.0.0.1:${server.port}`,
  };
}
