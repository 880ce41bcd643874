#!/usr/bin/env node
// Real services for the integration suites: Redis, PostgreSQL, MariaDB and the Kafka test broker,
// plus promtool (Prometheus' linter) for the /metrics suites and pdftotext (poppler-utils) for
// the audit report suite.
//
//   node scripts/test-services.mjs ensure   make all of them available, write .test-services/env.json
//   node scripts/test-services.mjs status   show what env.json points at and whether it answers
//   node scripts/test-services.mjs env      print env.json as shell `export` lines
//   node scripts/test-services.mjs stop     stop what this script started (Kafka broker, and a
//                                           redis-server or mariadbd it launched); never a
//                                           shared service
//
// Resolution per service: the variable from the environment (REDIS_URL, DATABASE_URL,
// MARIADB_URL, KAFKA_BROKERS) when set, and it must answer; else the local default port when
// something usable answers there; else start it on loopback (Debian: installing packages first
// when root). promtool: PROMTOOL when set, else on PATH, else unpacked from Debian's `prometheus`
// package. Knobs: KEEL_TEST_REDIS_PORT (6379), KEEL_TEST_PG_PORT (5432), KEEL_TEST_PG_PASSWORD
// (postgres), KEEL_TEST_MARIADB_PORT (3306), KEEL_TEST_KAFKA_PORT (19092),
// KEEL_TEST_KAFKA_BROKER_COUNT (1), KEEL_TEST_NO_INSTALL=1 (never run apt-get).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  BROKER_BINARY,
  BROKER_SOURCE,
  DEFAULT_TOPICS,
  STATE_DIR,
  brokerArgs,
  brokerBuildPrereqs,
  ensureBrokerBinary,
  hasCommand,
  parseBootstrapLine,
} from './lib/kafka-broker.mjs';
import { kafkaProbe, pollUntil, portIsFree, redisPing, tcpProbe } from './lib/probe.mjs';

const execFileAsync = promisify(execFile);

const ENV_FILE = path.join(STATE_DIR, 'env.json');
const KAFKA_PID = path.join(STATE_DIR, 'kafka.pid');
const KAFKA_STATE = path.join(STATE_DIR, 'kafka.json');
const KAFKA_LOG = path.join(STATE_DIR, 'kafka.log');
const REDIS_PID = path.join(STATE_DIR, 'redis.pid');
const REDIS_LOG = path.join(STATE_DIR, 'redis.log');
const MARIADB_DIR = path.join(STATE_DIR, 'mariadb');
const MARIADB_PID = path.join(STATE_DIR, 'mariadb.pid');
const MARIADB_LOG = path.join(STATE_DIR, 'mariadb.log');
const MARIADB_SOCKET = path.join(STATE_DIR, 'mariadb.sock');
const LOCK_DIR = path.join(STATE_DIR, 'ensure.lock');

const isRoot = process.getuid?.() === 0;

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ServiceError('config', `${name}=${raw} is not a valid number`);
  }
  return value;
}

class ServiceError extends Error {
  constructor(service, message) {
    super(message);
    this.service = service;
  }
}

function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Resolves whether the promise fulfils. */
function succeeds(promise) {
  return promise.then(
    () => true,
    () => false,
  );
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Guards against signalling a recycled pid: the process must still be the program we started. */
function isOurProcess(pid, programName) {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(programName);
  } catch {
    return !fs.existsSync('/proc/self'); // no procfs: trust the pid file
  }
}

async function terminate(pid, timeoutMs = 5000) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  try {
    await pollUntil(() => !isAlive(pid), { timeoutMs, intervalMs: 20 });
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await pollUntil(() => !isAlive(pid), { timeoutMs: 2000, intervalMs: 20 });
  }
}

async function withLock(fn) {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const deadline = Date.now() + 300_000; // a concurrent run may be installing packages
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readJson(path.join(LOCK_DIR, 'pid')));
      if (holder && !isAlive(holder)) {
        fs.rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ServiceError('lock', `${LOCK_DIR} held by ${holder}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

async function probeRedis() {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    try {
      await redisPing(fromEnv);
    } catch (err) {
      throw new ServiceError(
        'Redis',
        `REDIS_URL=${redact(fromEnv)} is set but does not answer PING: ${err.message}`,
      );
    }
    return { value: fromEnv, how: 'from REDIS_URL' };
  }
  const port = intEnv('KEEL_TEST_REDIS_PORT', 6379);
  const url = `redis://127.0.0.1:${port}`;
  try {
    await redisPing(url);
    const ours = isOurProcess(Number(readJson(REDIS_PID)), 'redis-server');
    return { value: url, how: ours ? 'started earlier by ensure' : 'already running' };
  } catch (err) {
    if (await tcpProbe('127.0.0.1', port)) {
      throw new ServiceError(
        'Redis',
        `127.0.0.1:${port} is open but is not a usable Redis (${err.message}); ` +
          'set REDIS_URL or KEEL_TEST_REDIS_PORT',
      );
    }
  }
  return {
    packages: hasCommand('redis-server') ? [] : [['redis-server', 'redis-server']],
    start: () => startRedis(port, url),
  };
}

async function startRedis(port, url) {
  if (!hasCommand('redis-server')) {
    throw new ServiceError('Redis', 'redis-server is not installed');
  }
  // A package install may have just started the distribution's own service.
  if (await succeeds(redisPing(url))) {
    return { value: url, how: 'started by its package' };
  }
  fs.rmSync(REDIS_PID, { force: true });
  try {
    await execFileAsync('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--daemonize', 'yes',
      '--save', '',
      '--appendonly', 'no',
      '--pidfile', REDIS_PID,
      '--logfile', REDIS_LOG,
      '--dir', STATE_DIR,
    ]); // prettier-ignore
    await pollUntil(() => redisPing(url).then(() => true), {
      timeoutMs: 10_000,
      message: `redis-server answering on ${url}`,
    });
  } catch (err) {
    throw new ServiceError(
      'Redis',
      `starting redis-server failed: ${err.message} (see ${REDIS_LOG})`,
    );
  }
  return {
    value: url,
    how: `started (pid file ${path.relative(process.cwd(), REDIS_PID)})`,
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

let pgModule;
async function loadPg() {
  if (!pgModule) {
    try {
      pgModule = (await import('pg')).default;
    } catch (err) {
      throw new ServiceError(
        'PostgreSQL',
        `cannot load the pg package (run npm ci): ${err.message}`,
      );
    }
  }
  return pgModule;
}

async function pgQuery(url, sql) {
  const pg = await loadPg();
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 3000,
  });
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isAuthError(err) {
  return ['28P01', '28000'].includes(err.code) || /password|SASL|SCRAM/i.test(err.message);
}

async function probePostgres() {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    try {
      await pgQuery(fromEnv, 'SELECT 1');
    } catch (err) {
      throw new ServiceError(
        'PostgreSQL',
        `DATABASE_URL=${redact(fromEnv)} is set but cannot be used: ${err.message}`,
      );
    }
    return { value: fromEnv, how: 'from DATABASE_URL' };
  }
  const port = intEnv('KEEL_TEST_PG_PORT', 5432);
  if (await tcpProbe('127.0.0.1', port)) return connectLocalPostgres(port, 'already running');
  return {
    packages: postgresInstalled() ? [] : [['PostgreSQL server', 'postgresql']],
    start: () => startPostgres(port),
  };
}

function postgresInstalled() {
  if (!hasCommand('pg_ctlcluster')) return false;
  try {
    return fs
      .readdirSync('/usr/lib/postgresql')
      .some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/postgres`));
  } catch {
    return false;
  }
}

/** Connects as postgres to database `test` (creating it if missing), with or without password. */
async function connectLocalPostgres(port, how) {
  const password = process.env.KEEL_TEST_PG_PASSWORD ?? 'postgres';
  const bases = [
    `postgres://postgres@127.0.0.1:${port}`,
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`,
  ];
  const tryBases = async () => {
    let lastError;
    for (const base of bases) {
      try {
        await pgQuery(`${base}/test`, 'SELECT 1');
        return `${base}/test`;
      } catch (err) {
        lastError = err;
        if (err.code === '3D000') {
          await pgQuery(`${base}/postgres`, 'CREATE DATABASE test').catch((e) => {
            if (e.code !== '42P04') throw e; // a concurrent creator won the race
          });
          return `${base}/test`;
        }
        if (!isAuthError(err)) throw err;
      }
    }
    throw lastError;
  };
  try {
    return { value: await tryBases(), how };
  } catch (err) {
    if (!isAuthError(err)) {
      throw new ServiceError('PostgreSQL', `127.0.0.1:${port}: ${err.message}`);
    }
    if (!(await setPostgresPasswordIfUnset(port, password))) {
      throw new ServiceError(
        'PostgreSQL',
        `127.0.0.1:${port} rejects user postgres without a password and with password ` +
          `"${password}" (${err.message}); set DATABASE_URL or KEEL_TEST_PG_PASSWORD`,
      );
    }
    try {
      return {
        value: await tryBases(),
        how: `${how}; password set for role postgres`,
      };
    } catch (err2) {
      throw new ServiceError('PostgreSQL', `127.0.0.1:${port}: ${err2.message}`);
    }
  }
}

/**
 * A fresh Debian cluster only allows peer auth locally and scram over TCP, and role postgres has
 * no password. As root we may give it one, but never replace a password someone already set.
 */
async function setPostgresPasswordIfUnset(port, password) {
  if (!isRoot || !hasCommand('runuser') || !hasCommand('psql')) return false;
  const psql = (sql) =>
    execFileAsync('runuser', [
      '-u', 'postgres', '--',
      'psql', '-X', '-q', '-p', String(port), '-d', 'postgres', '-Atc', sql,
    ]); // prettier-ignore
  try {
    const { stdout } = await psql(
      "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres'",
    );
    if (stdout.trim() !== 't') return false;
    await psql(`ALTER ROLE postgres PASSWORD '${password.replaceAll("'", "''")}'`);
    return true;
  } catch {
    return false;
  }
}

async function listClusters() {
  const { stdout } = await execFileAsync('pg_lsclusters', ['--no-header']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4)
    .map(([version, name, port, status]) => ({
      version,
      name,
      port: Number(port),
      status,
    }));
}

async function startPostgres(port) {
  if (!postgresInstalled()) throw new ServiceError('PostgreSQL', 'PostgreSQL is not installed');
  let clusters = await listClusters();
  if (clusters.length === 0 && isRoot) {
    const version = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))[0];
    await execFileAsync('pg_createcluster', [version, 'main', '--port', String(port)]);
    clusters = await listClusters();
  }
  const cluster = clusters.find((c) => c.port === port);
  if (!cluster) {
    const known = clusters.map((c) => `${c.version}/${c.name} on ${c.port}`).join(', ');
    throw new ServiceError(
      'PostgreSQL',
      `nothing answers on 127.0.0.1:${port} and no PostgreSQL cluster is configured for that ` +
        `port (clusters: ${known || 'none'}); set DATABASE_URL or KEEL_TEST_PG_PORT`,
    );
  }
  if (cluster.status !== 'online') {
    try {
      await execFileAsync('pg_ctlcluster', [
        '--skip-systemctl-redirect',
        cluster.version,
        cluster.name,
        'start',
      ]);
    } catch (err) {
      const hint = isRoot ? '' : ' (run as root or as the cluster owner)';
      throw new ServiceError(
        'PostgreSQL',
        `pg_ctlcluster ${cluster.version} ${cluster.name} start failed${hint}: ` +
          `${(err.stderr || err.message).trim()}`,
      );
    }
  }
  await pollUntil(() => tcpProbe('127.0.0.1', port), {
    timeoutMs: 15_000,
    message: `PostgreSQL ${cluster.version}/${cluster.name} accepting TCP on 127.0.0.1:${port}`,
  }).catch((err) => {
    throw new ServiceError('PostgreSQL', err.message);
  });
  return connectLocalPostgres(port, `started cluster ${cluster.version}/${cluster.name}`);
}

// ---------------------------------------------------------------------------------------------
// MariaDB

let mysqlModule;
async function loadMysql() {
  if (!mysqlModule) {
    try {
      mysqlModule = (await import('mysql2/promise')).default;
    } catch (err) {
      throw new ServiceError(
        'MariaDB',
        `cannot load the mysql2 package (run npm ci): ${err.message}`,
      );
    }
  }
  return mysqlModule;
}

async function mariadbQuery(url, sql) {
  const mysql = await loadMysql();
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
  try {
    const [rows] = await connection.query(sql);
    return rows;
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR (unix_socket-only root). */
function isMariadbAuthError(err) {
  return err.errno === 1045 || err.errno === 1698;
}

/** A MariaDB program: on PATH, or in /usr/sbin, which a non-root PATH often lacks. */
function mariadbProgram(name) {
  if (hasCommand(name)) return name;
  for (const dir of ['/usr/sbin', '/usr/bin']) {
    if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function mariadbInstalled() {
  return Boolean(mariadbProgram('mariadbd') && mariadbProgram('mariadb-install-db'));
}

async function probeMariadb() {
  const fromEnv = process.env.MARIADB_URL;
  if (fromEnv) {
    try {
      await mariadbQuery(fromEnv, 'SELECT 1');
    } catch (err) {
      throw new ServiceError(
        'MariaDB',
        `MARIADB_URL=${redact(fromEnv)} is set but cannot be used: ${err.message}`,
      );
    }
    return { value: fromEnv, how: 'from MARIADB_URL' };
  }
  const port = intEnv('KEEL_TEST_MARIADB_PORT', 3306);
  if (await tcpProbe('127.0.0.1', port)) {
    const ours = isOurProcess(Number(readJson(MARIADB_PID)), 'mariadbd');
    return connectLocalMariadb(port, ours ? 'started earlier by ensure' : 'already running');
  }
  return {
    packages: mariadbInstalled() ? [] : [['MariaDB server', 'mariadb-server']],
    start: () => startMariadb(port),
  };
}

/** Connects as root without a password to database `test`, creating the database if missing. */
async function connectLocalMariadb(port, how) {
  const base = `mysql://root@127.0.0.1:${port}`;
  const connect = async () => {
    try {
      await mariadbQuery(`${base}/test`, 'SELECT 1');
    } catch (err) {
      if (err.errno !== 1049) throw err; // ER_BAD_DB_ERROR: the server has no database `test`
      await mariadbQuery(base, 'CREATE DATABASE IF NOT EXISTS test');
    }
    return `${base}/test`;
  };
  try {
    return { value: await connect(), how };
  } catch (err) {
    if (!isMariadbAuthError(err)) {
      throw new ServiceError('MariaDB', `127.0.0.1:${port}: ${err.message}`);
    }
    if (!(await allowMariadbRootOverTcpIfUnset(port))) {
      throw new ServiceError(
        'MariaDB',
        `127.0.0.1:${port} refuses root without a password over TCP (${err.message}); set ` +
          "MARIADB_URL, or allow it: CREATE USER 'root'@'127.0.0.1'; GRANT ALL ON *.* TO " +
          "'root'@'127.0.0.1' WITH GRANT OPTION",
      );
    }
    try {
      return { value: await connect(), how: `${how}; root@127.0.0.1 allowed without password` };
    } catch (err2) {
      throw new ServiceError('MariaDB', `127.0.0.1:${port}: ${err2.message}`);
    }
  }
}

/**
 * A Debian MariaDB lets root in through the unix socket only. As root we may add the account
 * root@127.0.0.1 without a password for the tests, but never change an account that exists, and
 * only on the server listening on `port` (the default socket may belong to another one).
 */
async function allowMariadbRootOverTcpIfUnset(port) {
  const client = mariadbProgram('mariadb');
  if (!isRoot || !client) return false;
  const sql = (statement) =>
    execFileAsync(client, ['--protocol=socket', '-uroot', '-N', '-B', '-e', statement]);
  try {
    if ((await sql('SELECT @@port')).stdout.trim() !== String(port)) return false;
    const { stdout } = await sql(
      "SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host = '127.0.0.1'",
    );
    if (stdout.trim() !== '0') return false;
    await sql(
      "CREATE USER 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private mariadbd on loopback with its own data directory under .test-services (root
 * without a password, no test database yet), so nothing of a system installation is changed.
 */
async function startMariadb(port) {
  const mariadbd = mariadbProgram('mariadbd');
  const installDb = mariadbProgram('mariadb-install-db');
  if (!mariadbd || !installDb) throw new ServiceError('MariaDB', 'mariadb-server is not installed');
  // A package install may have just started the distribution's own service.
  if (await tcpProbe('127.0.0.1', port)) return connectLocalMariadb(port, 'started by its package');
  // mariadbd refuses to run as root unless told to; it is bound to loopback only.
  const asUser = isRoot ? ['--user=root'] : [];
  try {
    if (!fs.existsSync(path.join(MARIADB_DIR, 'mysql'))) {
      fs.rmSync(MARIADB_DIR, { recursive: true, force: true });
      fs.mkdirSync(MARIADB_DIR, { recursive: true });
      await execFileAsync(
        installDb,
        [
          '--no-defaults',
          `--datadir=${MARIADB_DIR}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...asUser,
        ],
        { timeout: 120_000 },
      );
    }
  } catch (err) {
    throw new ServiceError(
      'MariaDB',
      `mariadb-install-db failed: ${(err.stderr || err.message).trim()}`,
    );
  }
  fs.rmSync(MARIADB_PID, { force: true });
  const child = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${MARIADB_DIR}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${MARIADB_SOCKET}`,
      `--pid-file=${MARIADB_PID}`,
      `--log-error=${MARIADB_LOG}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M',
      ...asUser,
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  let exit;
  child.once('exit', (code, signal) => (exit = signal ?? `exit code ${code}`));
  child.once('error', (err) => (exit = err.message));
  try {
    await pollUntil(
      () => {
        if (exit) throw new Error(`mariadbd exited (${exit})`);
        return tcpProbe('127.0.0.1', port);
      },
      { timeoutMs: 30_000, message: `mariadbd accepting TCP on 127.0.0.1:${port}` },
    );
  } catch (err) {
    if (!exit && child.pid) await terminate(child.pid);
    throw new ServiceError(
      'MariaDB',
      `starting mariadbd failed: ${err.message} (see ${MARIADB_LOG})`,
    );
  }
  return connectLocalMariadb(
    port,
    `started (pid file ${path.relative(process.cwd(), MARIADB_PID)})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Kafka test broker

function wantedKafkaConfig() {
  return {
    brokerCount: intEnv('KEEL_TEST_KAFKA_BROKER_COUNT', 1),
    topics: { ...DEFAULT_TOPICS },
  };
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function binaryIsFresh() {
  const built = mtimeMs(BROKER_BINARY);
  return built !== undefined && built >= (mtimeMs(BROKER_SOURCE) ?? 0);
}

/** Our running broker, if it is alive, answers, and matches the wanted config and binary. */
async function reusableBroker(wanted) {
  const state = readJson(KAFKA_STATE);
  if (!state || !isOurProcess(state.pid, 'kafka-mock-broker')) return undefined;
  const sameConfig =
    state.brokerCount === wanted.brokerCount &&
    JSON.stringify(state.topics) === JSON.stringify(wanted.topics) &&
    binaryIsFresh() &&
    state.binaryMtimeMs === mtimeMs(BROKER_BINARY);
  if (!sameConfig) return undefined;
  const ok = await succeeds(kafkaProbe(state.brokers[0]));
  return ok ? state : undefined;
}

async function probeKafka() {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) {
    const brokers = fromEnv
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    const results = await Promise.allSettled(brokers.map((b) => kafkaProbe(b)));
    if (!results.some((r) => r.status === 'fulfilled')) {
      const why = results.map((r, i) => `${brokers[i]}: ${r.reason?.message}`).join('; ');
      throw new ServiceError(
        'Kafka',
        `KAFKA_BROKERS=${fromEnv} is set but no broker answers (${why})`,
      );
    }
    return { value: brokers.join(','), how: 'from KAFKA_BROKERS' };
  }
  const wanted = wantedKafkaConfig();
  const state = await reusableBroker(wanted);
  if (state)
    return {
      value: state.brokers.join(','),
      how: `test broker already running (pid ${state.pid})`,
    };
  return {
    packages: binaryIsFresh()
      ? []
      : brokerBuildPrereqs()
          .filter(([, , ok]) => !ok)
          .map(([what, pkg]) => [what, pkg]),
    start: () => startKafka(wanted),
  };
}

async function stopOurKafka() {
  const state = readJson(KAFKA_STATE);
  const pid = state?.pid ?? Number(readJson(KAFKA_PID));
  let stopped;
  if (pid && isOurProcess(pid, 'kafka-mock-broker')) {
    await terminate(pid);
    stopped = pid;
  }
  fs.rmSync(KAFKA_STATE, { force: true });
  fs.rmSync(KAFKA_PID, { force: true });
  return stopped;
}

async function startKafka(wanted) {
  await stopOurKafka(); // a stale one (other config or binary) would hold the port
  let binary;
  try {
    binary = await ensureBrokerBinary();
  } catch (err) {
    throw new ServiceError('Kafka', err.message);
  }
  const fixedPort = intEnv('KEEL_TEST_KAFKA_PORT', 19092);
  let portsFree = true;
  for (let i = 0; i < wanted.brokerCount; i += 1) {
    portsFree &&= await portIsFree(fixedPort + i);
  }
  const args = brokerArgs({
    brokers: wanted.brokerCount,
    port: portsFree ? fixedPort : undefined, // taken by someone else: let the broker pick ports
    topics: wanted.topics,
    daemon: true,
  });
  const log = fs.openSync(KAFKA_LOG, 'w');
  const child = spawn(binary, args, {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  child.unref();
  let exit;
  child.once('exit', (code, signal) => (exit = signal ?? `exit code ${code}`));
  child.once('error', (err) => (exit = err.message));
  const deadline = Date.now() + 10_000;
  let brokers;
  while (!brokers) {
    brokers = parseBootstrapLine(fs.readFileSync(KAFKA_LOG, 'utf8'));
    if (brokers) break;
    if (exit || Date.now() > deadline) {
      const output = fs.readFileSync(KAFKA_LOG, 'utf8').trim();
      if (!exit) await terminate(child.pid);
      throw new ServiceError(
        'Kafka',
        `test broker did not start (${exit ?? 'no BOOTSTRAP line within 10 s'}): ${output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await kafkaProbe(brokers[0]).catch((err) => {
    throw new ServiceError('Kafka', `test broker started but ${brokers[0]} fails: ${err.message}`);
  });
  const state = {
    pid: child.pid,
    brokers,
    brokerCount: wanted.brokerCount,
    topics: wanted.topics,
    binaryMtimeMs: mtimeMs(binary),
  };
  fs.writeFileSync(KAFKA_STATE, `${JSON.stringify(state, null, 2)}\n`);
  fs.writeFileSync(KAFKA_PID, `${child.pid}\n`);
  const note = portsFree ? '' : `; port ${fixedPort} was taken, using random ports`;
  return {
    value: brokers.join(','),
    how: `test broker started (pid ${child.pid}${note})`,
  };
}

// ---------------------------------------------------------------------------------------------
// promtool: Prometheus' own linter, which the /metrics suites run on Keel's exposition. A binary,
// not a service. It comes from Debian's `prometheus` package, *unpacked* into .test-services/
// rather than installed: installing would start a Prometheus server (the package's postinst
// enables and starts prometheus.service, and its Recommends pull in prometheus-node-exporter,
// another daemon), and promtool is one static binary that needs none of the package's 15
// dependencies. Unpacking needs no root.

const PROMTOOL_DIR = path.join(STATE_DIR, 'prometheus');
const PROMTOOL_UNPACKED = path.join(PROMTOOL_DIR, 'usr', 'bin', 'promtool');

async function promtoolVersion(binary) {
  const { stdout } = await execFileAsync(binary, ['--version'], { timeout: 10_000 });
  return stdout.split('\n')[0].trim();
}

function commandPath(name) {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .find((file) => {
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

async function probePromtool() {
  const fromEnv = process.env.PROMTOOL;
  if (fromEnv) {
    const version = await promtoolVersion(fromEnv).catch((err) => {
      throw new ServiceError(
        'promtool',
        `PROMTOOL=${fromEnv} is set but does not run: ${err.message}`,
      );
    });
    return { value: fromEnv, how: `from PROMTOOL; ${version}` };
  }
  for (const [binary, how] of [
    [commandPath('promtool'), 'on PATH'],
    [PROMTOOL_UNPACKED, 'unpacked earlier by ensure'],
  ]) {
    if (binary === undefined || !fs.existsSync(binary)) continue;
    const version = await promtoolVersion(binary).catch(() => undefined);
    if (version) return { value: binary, how: `${how}; ${version}` };
  }
  return { start: unpackPromtool };
}

async function unpackPromtool() {
  const missing = (why) =>
    new ServiceError(
      'promtool',
      `missing package: promtool (prometheus)${why}. Install it (` +
        `${isRoot ? '' : 'sudo '}apt-get install -y prometheus, or a release from ` +
        'https://prometheus.io/download/) or point PROMTOOL at the binary.',
    );
  if (process.env.KEEL_TEST_NO_INSTALL === '1') {
    throw missing(' (KEEL_TEST_NO_INSTALL=1, so not unpacking it)');
  }
  if (!hasCommand('apt-get') || !hasCommand('dpkg-deb')) throw missing('');
  const download = path.join(STATE_DIR, 'prometheus-download');
  fs.rmSync(download, { recursive: true, force: true });
  fs.mkdirSync(download, { recursive: true });
  const fetchDeb = () =>
    execFileAsync('apt-get', ['download', '-q', 'prometheus'], { cwd: download });
  try {
    console.log('test-services: unpacking promtool from the Debian package prometheus');
    try {
      await fetchDeb();
    } catch (err) {
      // A fresh image has no package lists; only root may fetch them.
      if (!isRoot || aptUpdated) throw err;
      await execFileAsync('apt-get', ['update', '-q']);
      aptUpdated = true;
      await fetchDeb();
    }
    const deb = fs.readdirSync(download).find((f) => /^prometheus_.*\.deb$/.test(f));
    if (!deb) throw new Error('apt-get download left no prometheus_*.deb');
    fs.rmSync(PROMTOOL_DIR, { recursive: true, force: true });
    await execFileAsync('dpkg-deb', ['-x', path.join(download, deb), PROMTOOL_DIR]);
    const version = await promtoolVersion(PROMTOOL_UNPACKED);
    return {
      value: PROMTOOL_UNPACKED,
      how: `unpacked from ${deb} (${path.relative(process.cwd(), PROMTOOL_DIR)}); ${version}`,
    };
  } catch (err) {
    throw missing(` (unpacking it failed: ${(err.stderr || err.message).trim().split('\n')[0]})`);
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// pdftotext (Debian's poppler-utils): the audit report suite reads the text of the PDFs it
// renders. A small package with no daemon, so it is installed like the services' packages.

async function probePdftotext() {
  const fromEnv = process.env.PDFTOTEXT;
  const version = (binary) =>
    execFileAsync(binary, ['-v'], { timeout: 10_000 }).then(({ stdout, stderr }) =>
      `${stdout}${stderr}`.split('\n')[0].trim(),
    );
  if (fromEnv) {
    const line = await version(fromEnv).catch((err) => {
      throw new ServiceError(
        'pdftotext',
        `PDFTOTEXT=${fromEnv} is set but does not run: ${err.message}`,
      );
    });
    return { value: fromEnv, how: `from PDFTOTEXT; ${line}` };
  }
  const found = () => commandPath('pdftotext');
  const describe = async (how) => {
    const binary = found();
    if (binary === undefined) throw new ServiceError('pdftotext', 'pdftotext is not installed');
    return { value: binary, how: `${how}; ${await version(binary)}` };
  };
  if (found() !== undefined) return describe('on PATH');
  return { packages: [['pdftotext', 'poppler-utils']], start: () => describe('installed') };
}

// ---------------------------------------------------------------------------------------------
// Packages

let aptUpdated = false;
async function installPackages(missing) {
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const list = missing.map(([what, pkg]) => `${what} (${pkg})`).join(', ');
  const canApt = hasCommand('apt-get') && hasCommand('dpkg');
  if (!canApt || !isRoot || process.env.KEEL_TEST_NO_INSTALL === '1') {
    const how = canApt
      ? `${isRoot ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`
      : 'with your package manager';
    const why = canApt && isRoot ? ' (KEEL_TEST_NO_INSTALL=1, so not installing)' : '';
    throw new ServiceError(
      'services',
      `missing packages: ${list}${why}. Install them (${how}) or point REDIS_URL / ` +
        'DATABASE_URL / MARIADB_URL / KAFKA_BROKERS at running services.',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    new Promise((resolve, reject) => {
      const child = spawn('apt-get', args, {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`apt-get ${args[0]} exited with ${code}`)),
      );
    });
  console.log(`test-services: installing ${packages.join(' ')}`);
  try {
    if (!aptUpdated) await run(['update', '-q']);
    aptUpdated = true;
    await run(['install', '-y', '-q', ...packages]);
  } catch (err) {
    throw new ServiceError('services', `installing ${packages.join(' ')} failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

const SERVICES = [
  ['REDIS_URL', 'Redis', probeRedis],
  ['DATABASE_URL', 'PostgreSQL', probePostgres],
  ['MARIADB_URL', 'MariaDB', probeMariadb],
  ['KAFKA_BROKERS', 'Kafka', probeKafka],
  ['PROMTOOL', 'promtool', probePromtool],
  ['PDFTOTEXT', 'pdftotext', probePdftotext],
];

function failures(results) {
  return results
    .map((r, i) => (r.status === 'rejected' ? [SERVICES[i][1], r.reason] : undefined))
    .filter(Boolean);
}

class Failures extends Error {
  constructor(list) {
    super('failures');
    this.list = list;
  }
}

function reportAndExit(failed) {
  for (const [name, err] of failed) {
    const what = err instanceof ServiceError ? err.message : (err?.stack ?? String(err));
    console.error(`test-services: cannot provide ${name}: ${what}`);
  }
  console.error('test-services: real-service tests cannot run; fix the above and re-run.');
  process.exit(1);
}

async function ensure() {
  const started = Date.now();
  await withLock(async () => {
    fs.rmSync(ENV_FILE, { force: true }); // never leave a stale env behind a failed run
    const probes = await Promise.allSettled(SERVICES.map(([, , probe]) => probe()));
    let failed = failures(probes);
    if (failed.length) throw new Failures(failed);
    const missing = probes.flatMap((p) => p.value.packages ?? []);
    if (missing.length) await installPackages(missing);
    const results = await Promise.allSettled(
      probes.map((p) => (p.value.start ? p.value.start() : p.value)),
    );
    failed = failures(results);
    if (failed.length) throw new Failures(failed);
    const env = {};
    SERVICES.forEach(([key, name], i) => {
      env[key] = results[i].value.value;
      console.log(
        `test-services: ${name.padEnd(10)} ${redact(env[key])}  (${results[i].value.how})`,
      );
    });
    fs.writeFileSync(ENV_FILE, `${JSON.stringify(env, null, 2)}\n`);
  });
  console.log(
    `test-services: ready in ${Date.now() - started} ms -> ${path.relative(process.cwd(), ENV_FILE)}`,
  );
}

async function status() {
  const env = readJson(ENV_FILE);
  if (!env) console.log(`test-services: no ${ENV_FILE} (run ensure)`);
  const checks = [
    ['Redis', env?.REDIS_URL, (v) => redisPing(v)],
    ['PostgreSQL', env?.DATABASE_URL, (v) => pgQuery(v, 'SELECT 1')],
    ['MariaDB', env?.MARIADB_URL, (v) => mariadbQuery(v, 'SELECT 1')],
    ['Kafka', env?.KAFKA_BROKERS, (v) => kafkaProbe(v.split(',')[0])],
    ['promtool', env?.PROMTOOL, (v) => promtoolVersion(v)],
    ['pdftotext', env?.PDFTOTEXT, (v) => execFileAsync(v, ['-v'], { timeout: 10_000 })],
  ];
  let ok = Boolean(env);
  for (const [name, value, check] of checks) {
    if (!value) continue;
    const result = await check(value).then(
      () => 'ok',
      (err) => `DOWN (${err.message})`,
    );
    if (result !== 'ok') ok = false;
    console.log(`test-services: ${name.padEnd(10)} ${redact(value)}  ${result}`);
  }
  const kafka = readJson(KAFKA_STATE);
  if (kafka) {
    const alive = isOurProcess(kafka.pid, 'kafka-mock-broker');
    console.log(
      `test-services: our Kafka test broker pid ${kafka.pid} ${alive ? 'running' : 'gone'}`,
    );
  }
  const redisPid = Number(readJson(REDIS_PID));
  if (redisPid) {
    const alive = isOurProcess(redisPid, 'redis-server');
    console.log(`test-services: our redis-server pid ${redisPid} ${alive ? 'running' : 'gone'}`);
  }
  const mariadbPid = Number(readJson(MARIADB_PID));
  if (mariadbPid) {
    const alive = isOurProcess(mariadbPid, 'mariadbd');
    console.log(`test-services: our mariadbd pid ${mariadbPid} ${alive ? 'running' : 'gone'}`);
  }
  process.exitCode = ok ? 0 : 1;
}

async function stop() {
  await withLock(async () => {
    const kafka = await stopOurKafka();
    console.log(
      `test-services: Kafka test broker ${kafka ? `pid ${kafka} stopped` : 'not running'}`,
    );
    const redisPid = Number(readJson(REDIS_PID));
    if (redisPid && isOurProcess(redisPid, 'redis-server')) {
      await terminate(redisPid);
      console.log(`test-services: redis-server pid ${redisPid} (started by ensure) stopped`);
    }
    fs.rmSync(REDIS_PID, { force: true });
    const mariadbPid = Number(readJson(MARIADB_PID));
    if (mariadbPid && isOurProcess(mariadbPid, 'mariadbd')) {
      await terminate(mariadbPid, 30_000);
      console.log(`test-services: mariadbd pid ${mariadbPid} (started by ensure) stopped`);
    }
    fs.rmSync(MARIADB_PID, { force: true });
    fs.rmSync(ENV_FILE, { force: true });
  });
}

function printEnv() {
  const env = readJson(ENV_FILE);
  if (!env) {
    console.error(`test-services: no ${ENV_FILE} (run ensure)`);
    process.exit(1);
  }
  for (const [key, value] of Object.entries(env)) {
    console.log(`export ${key}='${String(value).replaceAll("'", "'\\''")}'`);
  }
}

const commands = { ensure, status, stop, env: printEnv };
const command = commands[process.argv[2]];
if (!command) {
  console.error('usage: node scripts/test-services.mjs ensure|status|stop|env');
  process.exit(2);
}
try {
  await command();
} catch (err) {
  reportAndExit(err instanceof Failures ? err.list : [[err.service ?? 'services', err]]);
}
