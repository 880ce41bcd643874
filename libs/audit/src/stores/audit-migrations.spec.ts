import { describe, expect, it } from '@jest/globals';
import { KeelConfigError } from '@keel/core';
import { auditMigrations, type AuditMigrationRunner } from './audit-migrations.js';
import { hardeningStatements, schemaStatements } from './postgres-audit.sql.js';

/** A runner that records the SQL it is given, in order. */
function recordingRunner(): AuditMigrationRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async query(sql: string) {
      calls.push(sql);
      return undefined;
    },
  };
}

describe('auditMigrations', () => {
  it('is one schema migration by default, named after the prefix and the 2026-12-01 timestamp', () => {
    const classes = auditMigrations();
    expect(classes).toHaveLength(1);
    const migration = new classes[0]!();
    expect(migration.name).toBe('KeelAuditSchema_keel_audit_1796083200000');
    expect(new Date(Number(migration.name.slice(-13))).toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
  });

  it('adds the hardening migration, one millisecond later, when asked', () => {
    const names = auditMigrations({ tablePrefix: 'acme_audit', hardening: true }).map(
      (M) => new M().name,
    );
    expect(names).toEqual([
      'KeelAuditSchema_acme_audit_1796083200000',
      'KeelAuditHardening_acme_audit_1796083200001',
    ]);
    expect(auditMigrations({ hardening: false })).toHaveLength(1);
  });

  it('up() runs the same statements as the store, in order, through the runner', async () => {
    const [Schema] = auditMigrations({ tablePrefix: 'p1' });
    const runner = recordingRunner();
    await new Schema!().up(runner);
    expect(runner.calls).toEqual(schemaStatements('p1'));
    expect(runner.calls[0]).toMatch(/^CREATE TABLE IF NOT EXISTS p1_events \(/);
  });

  it('down() drops the tables, dependants first', async () => {
    const [Schema] = auditMigrations({ tablePrefix: 'p1' });
    const runner = recordingRunner();
    await new Schema!().down(runner);
    expect(runner.calls).toEqual([
      'DROP TABLE IF EXISTS p1_checkpoints CASCADE',
      'DROP TABLE IF EXISTS p1_pending CASCADE',
      'DROP TABLE IF EXISTS p1_heads CASCADE',
      'DROP TABLE IF EXISTS p1_events CASCADE',
    ]);
  });

  it('hardening up() installs the trigger and the role; down() removes the trigger, function and role', async () => {
    const [, Hardening] = auditMigrations({ tablePrefix: 'p2', hardening: true });
    const up = recordingRunner();
    await new Hardening!().up(up);
    expect(up.calls).toEqual(hardeningStatements('p2'));
    expect(up.calls.some((sql) => sql.includes('CREATE TRIGGER p2_append_only'))).toBe(true);
    const down = recordingRunner();
    await new Hardening!().down(down);
    expect(down.calls).toHaveLength(3);
    expect(down.calls[0]).toBe('DROP TRIGGER IF EXISTS p2_append_only ON p2_events');
    expect(down.calls[1]).toBe('DROP FUNCTION IF EXISTS p2_reject_change()');
    expect(down.calls[2]).toContain("rolname = 'p2_writer'");
    expect(down.calls[2]).toContain('DROP ROLE p2_writer');
  });

  it('stops at the first statement that fails', async () => {
    const [Schema] = auditMigrations();
    const calls: string[] = [];
    const failing: AuditMigrationRunner = {
      async query(sql) {
        calls.push(sql);
        if (calls.length === 2) throw new Error('permission denied');
      },
    };
    await expect(new Schema!().up(failing)).rejects.toThrow('permission denied');
    expect(calls).toHaveLength(2);
  });

  it('refuses a prefix that is not a lowercase SQL identifier', () => {
    for (const prefix of ['drop table; --', 'Audit', '1audit', '', 'a'.repeat(42)]) {
      let error: unknown;
      try {
        auditMigrations({ tablePrefix: prefix });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KeelConfigError);
      expect((error as KeelConfigError).problems).toEqual([
        `auditMigrations: tablePrefix must be a lowercase SQL identifier (got '${prefix}')`,
      ]);
    }
    expect(auditMigrations({ tablePrefix: '_a'.padEnd(41, 'b') })).toHaveLength(1);
  });
});
