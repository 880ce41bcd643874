import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP forwarder a test can cut and restore, to make a real backend unreachable. */
export interface TcpProxy {
  readonly port: number;
  /** Closes the listener and every forwarded connection: the backend looks gone. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Same as cut(); idempotent. */
  close(): Promise<void>;
}

/**
 * Forwards a loopback port to `target` (host and port), e.g. to the shared PostgreSQL, so a test
 * can take the database away from one client without stopping the shared server.
 *
 * @example
 * const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
 * await proxy.cut(); // connections refused and reset
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.once('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    restore: () => (server === undefined ? listen() : Promise.resolve()),
    close: cut,
  };
}
