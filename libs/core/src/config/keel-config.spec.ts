import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { KeelConfigError } from '../core.errors.js';
import { KEEL_ENV_VARIABLES, loadKeelConfig, parseConfigSection } from './keel-config.js';
import { configProblems } from '../../../../test/support/config-problems.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keel-config-')), 'keel.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadKeelConfig', () => {
  it('has defaults for an empty environment', () => {
    const config = loadKeelConfig({ env: {} });
    expect(config).toMatchObject({
      serviceName: 'keel-service',
      redisUrl: undefined,
      redisKeyPrefix: 'keel:',
      port: 3000,
      defaultMetrics: false,
    });
    // The readiness time limit belongs to @keel/health (KEEL_HEALTH_TIMEOUT_MS, health.timeoutMs).
    expect(config).not.toHaveProperty('healthTimeoutMs');
  });

  it('reads the environment over the YAML file', () => {
    const file = yamlFile(
      'service:\n  name: from-yaml\nhttp:\n  port: 4000\ncoordination:\n  policies: {}\n',
    );
    const config = loadKeelConfig({
      env: { KEEL_CONFIG: file, KEEL_SERVICE_NAME: 'orders', KAFKA_BROKERS: 'a:9092, b:9093' },
    });
    expect(config.serviceName).toBe('orders');
    expect(config.port).toBe(4000);
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(config.sections).toEqual({ coordination: { policies: {} } });
  });

  it('reports every problem, one line each, naming the variable', () => {
    let error: unknown;
    try {
      loadKeelConfig({
        env: {
          PORT: 'eighty',
          REDIS_URL: 'http://user:secret@host',
          KEEL_METRICS_DEFAULT: 'maybe',
          KEEL_SERVCE_NAME: 'typo',
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeelConfigError);
    const lines = (error as KeelConfigError).problems;
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).toMatch(/^KEEL_SERVCE_NAME: unknown Keel variable/m);
    expect(lines.join('\n')).toMatch(
      /^PORT: must be a whole number from 0 to 65535 \(got 'eighty'\)/m,
    );
    expect(lines.join('\n')).toMatch(/^REDIS_URL: must be a redis:\/\//m);
    expect(lines.join('\n')).toMatch(/^KEEL_METRICS_DEFAULT: /m);
    expect((error as Error).message).not.toContain('secret');
  });

  it('leaves the health section and KEEL_HEALTH_* to @keel/health, which validates them', () => {
    const file = yamlFile('health:\n  timeoutMs: 500\n');
    const config = loadKeelConfig({ file, env: { KEEL_HEALTH_TIMEOUT_MS: '5' } });
    expect(config.sections).toEqual({ health: { timeoutMs: 500 } });
    expect(config.moduleEnv).toEqual({ KEEL_HEALTH_TIMEOUT_MS: '5' });
  });

  it.each(KEEL_ENV_VARIABLES.map((v) => v.name))(
    'rejects %s set but empty (or blank) instead of treating it as unset',
    (name) => {
      for (const value of ['', '   ']) {
        expect(() => loadKeelConfig({ env: { [name]: value } })).toThrow(
          expect.objectContaining({
            problems: [`${name}: is set but empty; give it a value or unset it`],
          }),
        );
      }
    },
  );

  it('reports an empty variable even when its alias or the YAML file sets the value', () => {
    const file = yamlFile('service:\n  name: from-yaml\n');
    expect(() =>
      loadKeelConfig({
        env: {
          KEEL_CONFIG: file,
          KEEL_SERVICE_NAME: '',
          REDIS_URL: 'redis://h',
          KEEL_REDIS_URL: '',
        },
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'KEEL_SERVICE_NAME: is set but empty; give it a value or unset it',
          'KEEL_REDIS_URL: is set but empty; give it a value or unset it',
        ],
      }),
    );
  });

  it.each<[Record<string, string>, string]>([
    [
      { KEEL_METRICS_DEFAULT: 'maybe' },
      "KEEL_METRICS_DEFAULT: must be one of: true, false, 0, 1, yes, no (got 'maybe')",
    ],
    [{ PORT: 'eighty' }, "PORT: must be a whole number from 0 to 65535 (got 'eighty')"],
    [{ KEEL_PORT: '70000' }, "KEEL_PORT: must be a whole number from 0 to 65535 (got '70000')"],
    [{ REDIS_URL: 'http://user:secret@host' }, 'REDIS_URL: must be a redis:// or rediss:// URL'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL: must be a postgres:// URL'],
    [
      { KAFKA_BROKERS: 'localhost' },
      "KAFKA_BROKERS: each broker must be host:port (got 'localhost')",
    ],
    [
      { KEEL_SERVICE_NAME: 'my service' },
      "KEEL_SERVICE_NAME: must be 1–63 letters, digits, dots, dashes or underscores (got 'my service')",
    ],
    [
      { KEEL_REDIS_KEY_PREFIX: 'x'.repeat(65) },
      'KEEL_REDIS_KEY_PREFIX: must be at most 64 characters long',
    ],
  ])('names the accepted values for %j', (env, message) => {
    expect(configProblems(() => loadKeelConfig({ env }))).toEqual([message]);
  });

  it.each<[string, string]>([
    [
      'metrics:\n  defaultMetrics: maybe\n',
      'metrics.defaultMetrics (F): must be one of: true, false, 0, 1, yes, no',
    ],
    ['http:\n  port: true\n', 'http.port (F): must be a whole number from 0 to 65535'],
    ['http:\n  port: 1.5\n', 'http.port (F): must be a whole number from 0 to 65535'],
    [
      'kafka:\n  brokers: 9092\n',
      'kafka.brokers (F): must be a comma-separated host:port list, or a list of host:port strings',
    ],
    [
      'service:\n  name: 42\n',
      'service.name (F): must be 1–63 letters, digits, dots, dashes or underscores',
    ],
    ['service:\n  nmae: orders\n', "service: unknown key 'nmae'; known: name"],
    ['redis:\n  url: 5\n', 'redis.url (F): must be a redis:// or rediss:// URL'],
  ])('names the accepted values for YAML %j', (yaml, message) => {
    const file = yamlFile(yaml);
    const problems = configProblems(() => loadKeelConfig({ env: { KEEL_CONFIG: file } }));
    expect(problems.map((p) => p.replace(`(${file})`, '(F)').replace(/ \(got .*\)$/, ''))).toEqual([
      message,
    ]);
  });

  it('names the YAML file and key for bad YAML values', () => {
    const file = yamlFile('http:\n  port: 99999\nbogus: 1\n');
    expect(() => loadKeelConfig({ env: { KEEL_CONFIG: file } })).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringMatching(/^bogus \(.*keel\.yaml\): unknown section/),
          expect.stringMatching(/^http\.port \(.*keel\.yaml\): .*65535 \(got 99999\)$/),
        ],
      }),
    );
  });

  it('reports an unreadable or invalid file', () => {
    expect(() => loadKeelConfig({ env: { KEEL_CONFIG: '/nonexistent/keel.yaml' } })).toThrow(
      /cannot read \/nonexistent\/keel\.yaml \(ENOENT\)/,
    );
    expect(() => loadKeelConfig({ env: { KEEL_CONFIG: yamlFile('a: [') } })).toThrow(
      /not valid YAML/,
    );
  });
});

describe('parseConfigSection', () => {
  it('reports each problem with its full key', () => {
    const schema = z.object({ policies: z.record(z.string(), z.object({ attempts: z.number() })) });
    expect(() =>
      parseConfigSection(
        schema,
        { policies: { payments: { attempts: 'x' } } },
        'coordination',
        'keel.yaml',
      ),
    ).toThrow(/coordination\.policies\.payments\.attempts \(keel\.yaml\): /);
  });
});
