// Network probes shared by scripts/test-services.mjs and test/support: Node built-ins only.
import net from 'node:net';
import tls from 'node:tls';

/** Resolves true when a TCP connection to host:port opens within timeoutMs. */
export function tcpProbe(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A loopback port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when nothing listens on 127.0.0.1:port (we could bind it). */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function encodeCommand(args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Sends PING (after AUTH when the URL has credentials) and resolves on +PONG; rejects with the
 * reason otherwise. Supports redis:// and rediss://.
 */
export function redisPing(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`not a URL: ${url}`));
      return;
    }
    const secure = parsed.protocol === 'rediss:';
    if (!secure && parsed.protocol !== 'redis:') {
      reject(new Error(`unsupported scheme ${parsed.protocol} (want redis: or rediss:)`));
      return;
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const port = Number(parsed.port || 6379);
    const commands = [];
    if (parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      commands.push(user ? ['AUTH', user, pass] : ['AUTH', pass]);
    }
    commands.push(['PING']);
    const socket = secure
      ? tls.connect({ host, port, servername: host })
      : net.connect({ host, port });
    let buffer = '';
    let replies = 0;
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', (err) => fail(err));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(commands.map(encodeCommand).join(''));
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let nl;
      while ((nl = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (line.startsWith('-')) {
          fail(new Error(`Redis said ${line.slice(1)}`));
          return;
        }
        replies += 1;
        if (replies === commands.length) {
          socket.destroy();
          if (line === '+PONG') resolve();
          else reject(new Error(`unexpected PING reply ${JSON.stringify(line)}`));
          return;
        }
      }
    });
  });
}

/**
 * Sends a Kafka ApiVersions v0 request and resolves when a well-formed answer with our
 * correlation id comes back: proof that a Kafka broker (not just any listener) is there.
 */
export function kafkaProbe(hostPort, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const idx = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
    const port = Number(hostPort.slice(idx + 1));
    if (idx <= 0 || !Number.isInteger(port)) {
      reject(new Error(`not host:port: ${hostPort}`));
      return;
    }
    const clientId = Buffer.from('keel-test-services');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(0x6b65656c, 4); // correlation id "keel"
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no Kafka answer within ${timeoutMs} ms`)));
    socket.once('error', (err) => fail(err));
    socket.once('connect', () => socket.write(Buffer.concat([size, body])));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      socket.destroy();
      if (received.readInt32BE(4) === 0x6b65656c) resolve();
      else reject(new Error('answer is not a Kafka ApiVersions response'));
    });
    socket.once('end', () => fail(new Error('connection closed without a Kafka answer')));
  });
}

/** Polls check() every intervalMs until it returns truthy; rejects after timeoutMs. */
export async function pollUntil(check, { timeoutMs = 10_000, intervalMs = 50, message } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? `: ${lastError.message}` : '';
      throw new Error(`${message ?? 'condition'} not met within ${timeoutMs} ms${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
