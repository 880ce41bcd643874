import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { KeelConfigError, KeelCoreModule, loadKeelConfig } from '@keel/core';
import { AuditModule } from './audit.module.js';

async function boot(env: Record<string, string>, options: object = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env }) }),
      AuditModule.forRoot(options),
    ],
  }).compile();
  await moduleRef.close();
}

describe('AuditModule settings', () => {
  it('boots with forRoot() and with isGlobal', async () => {
    await expect(boot({})).resolves.toBeUndefined();
    await expect(boot({}, { isGlobal: false })).resolves.toBeUndefined();
  });

  it('reports a KEEL_AUDIT_* variable or an option it does not know instead of ignoring it', async () => {
    const error = await boot({ KEEL_AUDIT_TYPO: '1' }, { typo: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^KEEL_AUDIT_TYPO: unknown variable of AuditModule; known: KEEL_AUDIT_WRITER_MODE, /,
      ),
      expect.stringMatching(/^AuditModule \(forRoot\): .*typo/),
    ]);
  });

  it('stops startup when retention is set without a checkpoint key, one line per problem', async () => {
    const error = await boot(
      { KEEL_AUDIT_RETENTION_DEFAULT_DAYS: '30' },
      { retention: { categories: { NOPE: 3 } } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(/^audit\.retention\.categories\.NOPE: unknown category/),
      expect.stringMatching(/^audit\.retention: .*needs audit\.checkpoints\.key/),
    ]);
    await expect(
      boot({}, { retention: { defaultDays: 30 }, checkpoints: { key: 'k'.repeat(32) } }),
    ).resolves.toBeUndefined();
  });

  it('refuses a spool in sync mode (the spool is what makes async mode durable)', async () => {
    const error = await boot(
      { KEEL_AUDIT_WRITER_SPOOL_DIRECTORY: '/tmp/never-created' },
      { writer: { mode: 'sync' } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^audit\.writer\.spoolDirectory: .*sync mode already resolves after the commit/,
      ),
    ]);
  });
});
