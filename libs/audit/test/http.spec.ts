import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AuditModule, AuditService, type AuditHttpOptions } from '@keel/audit';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';

/** Lets in requests carrying `x-auditor: yes`. */
@Injectable()
class AuditorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    return req.headers['x-auditor'] === 'yes';
  }
}

const AUDITOR = { 'x-auditor': 'yes' };

describe('AuditController (opt-in HTTP API)', () => {
  let app: INestApplication | undefined;
  const directories: string[] = [];
  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function boot(
    http: AuditHttpOptions | undefined,
    how: 'sync' | 'async' = 'sync',
  ): Promise<INestApplication> {
    const directory = mkdtempSync(join(tmpdir(), 'keel-audit-http-'));
    directories.push(directory);
    const options = {
      store: { type: 'file' as const, directory },
      writer: { mode: 'sync' as const },
      // No hour is off-hours: counts must not depend on when the suite runs.
      anomalies: { offHours: { startHour: 0, endHour: 24, weekends: false } },
    };
    const audit =
      how === 'sync'
        ? AuditModule.forRoot({ ...options, ...(http !== undefined ? { http } : {}) })
        : AuditModule.forRootAsync({
            useFactory: () => options,
            ...(http !== undefined ? { http } : {}),
          });
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        audit,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const service = app.get(AuditService);
    for (let i = 0; i < 5; i++) {
      await service.record({
        action: i < 3 ? 'order.update' : 'user.login',
        category: i < 3 ? 'DATA_CHANGE' : 'AUTHENTICATION',
        resource: { type: 'order', id: `o-${i}` },
        tags: ['sox'],
        actor: i % 2 === 0 ? 'alice' : 'bob',
      });
    }
    return app;
  }

  it('serves keyset pages of events to a request the guard allows', async () => {
    const server = (await boot({ guard: AuditorGuard })).getHttpServer();
    const first = await request(server)
      .get('/audit/events?action=order.*&limit=2')
      .set(AUDITOR)
      .expect(200);
    expect(first.body.items.map((e: { resourceId: string }) => e.resourceId)).toEqual([
      'o-0',
      'o-1',
    ]);
    const second = await request(server)
      .get(
        `/audit/events?action=order.*&limit=2&cursor=${encodeURIComponent(first.body.nextCursor as string)}`,
      )
      .set(AUDITOR)
      .expect(200);
    expect(second.body.items.map((e: { resourceId: string }) => e.resourceId)).toEqual(['o-2']);
    expect(second.body.nextCursor).toBeUndefined();
    const many = await request(server)
      .get('/audit/events?category=DATA_CHANGE,AUTHENTICATION&actor=alice')
      .set(AUDITOR)
      .expect(200);
    expect(many.body.items).toHaveLength(3);
  });

  it('refuses with KEEL_AUDIT_FORBIDDEN (403) when the guard says no, and when there is no guard', async () => {
    const guarded = (await boot({ guard: AuditorGuard })).getHttpServer();
    const refused = await request(guarded).get('/audit/events').expect(403);
    expect(refused.body).toMatchObject({ code: 'KEEL_AUDIT_FORBIDDEN' });
    await request(guarded).get('/audit/verify').set({ 'x-auditor': 'no' }).expect(403);
    await app!.close();
    app = undefined;
    const unguarded = (await boot({})).getHttpServer();
    const none = await request(unguarded).get('/audit/events').set(AUDITOR).expect(403);
    expect(none.body).toMatchObject({ code: 'KEEL_AUDIT_FORBIDDEN' });
    expect(none.body.message).toMatch(
      /no guard: pass AuditModule\.forRoot\(\{ http: \{ guard \} \}\)/,
    );
  });

  it('answers 400 KEEL_AUDIT_INVALID_FILTER naming a bad parameter', async () => {
    const server = (await boot({ guard: AuditorGuard })).getHttpServer();
    const badDate = await request(server)
      .get('/audit/events?from=yesterday')
      .set(AUDITOR)
      .expect(400);
    expect(badDate.body).toMatchObject({ code: 'KEEL_AUDIT_INVALID_FILTER' });
    expect(badDate.body.message).toMatch(/from: must be an ISO 8601 date \(got 'yesterday'\)/);
    const badCategory = await request(server)
      .get('/audit/events?category=NOPE')
      .set(AUDITOR)
      .expect(400);
    expect(badCategory.body.message).toMatch(/category: unknown value 'NOPE'/);
    await request(server).get('/audit/events?limit=abc').set(AUDITOR).expect(400);
    await request(server).get('/audit/events?cursor=forged').set(AUDITOR).expect(400);
    await request(server).get('/audit/events?actor=a&actor=b').set(AUDITOR).expect(400);
    const noPeriod = await request(server).get('/audit/reports/access').set(AUDITOR).expect(400);
    expect(noPeriod.body.message).toMatch(/from: a report needs its period/);
    await request(server)
      .get('/audit/reports/nope?from=2026-01-01&to=2030-01-01')
      .set(AUDITOR)
      .expect(400);
  });

  it('streams exports and renders reports with their content types, and verifies', async () => {
    const server = (await boot({ guard: AuditorGuard }, 'async')).getHttpServer();
    const csv = await request(server)
      .get('/audit/export?format=csv&tag=sox')
      .set(AUDITOR)
      .expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="audit-export.csv"');
    expect(csv.text.split('\r\n').filter((l) => l.length > 0)).toHaveLength(6);
    const ndjson = await request(server).get('/audit/export').set(AUDITOR).expect(200);
    expect(ndjson.text.trim().split('\n').length).toBeGreaterThanOrEqual(5);
    const pdf = await request(server)
      .get('/audit/reports/change?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&format=pdf')
      .set(AUDITOR)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
    const json = await request(server)
      .get('/audit/reports/change?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z')
      .set(AUDITOR)
      .expect(200);
    expect(JSON.parse(json.text as string)).toMatchObject({
      kind: 'change',
      summary: { events: 3 },
    });
    const verified = await request(server).get('/audit/verify').set(AUDITOR).expect(200);
    expect(verified.body.ok).toBe(true);
  });

  it('has no HTTP routes unless asked for', async () => {
    const server = (await boot(undefined)).getHttpServer();
    await request(server).get('/audit/events').set(AUDITOR).expect(404);
  });
});
