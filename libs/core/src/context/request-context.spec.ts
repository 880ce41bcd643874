import { describe, expect, it } from '@jest/globals';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { setTimeout as delay } from 'node:timers/promises';
import { firstValueFrom, defer } from 'rxjs';
import { isKeelError } from '../core.errors.js';
import { RequestContextInterceptor } from './request-context.interceptor.js';
import { RequestContext, createRequestInfo } from './request-context.js';

describe('RequestContext', () => {
  it('is undefined outside a unit of work', () => {
    expect(RequestContext.current()).toBeUndefined();
    expect(RequestContext.correlationId()).toBeUndefined();
  });

  it('propagates across awaits, timers, immediates and promise chains', async () => {
    const seen: (string | undefined)[] = [];
    await RequestContext.run({ correlationId: 'c-1', tenant: 't-1' }, async () => {
      seen.push(RequestContext.correlationId());
      await delay(1);
      seen.push(RequestContext.correlationId());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(RequestContext.correlationId());
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          seen.push(RequestContext.tenant());
          resolve();
        }),
      );
      await Promise.resolve().then(() => seen.push(RequestContext.correlationId()));
    });
    expect(seen).toEqual(['c-1', 'c-1', 'c-1', 't-1', 'c-1']);
  });

  it('keeps concurrent units of work apart', async () => {
    const run = (id: string, wait: number) =>
      RequestContext.run({ correlationId: id }, async () => {
        await delay(wait);
        return RequestContext.correlationId();
      });
    await expect(Promise.all([run('a', 5), run('b', 1), run('c', 3)])).resolves.toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('generates a correlation id when missing or unsafe', () => {
    expect(createRequestInfo({}).correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(createRequestInfo({ correlationId: 'bad\nid' }).correlationId).not.toContain('\n');
    expect(createRequestInfo({ correlationId: 'x'.repeat(200) }).correlationId).toHaveLength(36);
    expect(createRequestInfo({ correlationId: 'ok-1' }).correlationId).toBe('ok-1');
  });

  it('keeps ip and user agent, cut to sane lengths, and leaves them out when absent', () => {
    const info = createRequestInfo({ ip: '::ffff:10.0.0.7', userAgent: 'curl/8.5.0' });
    expect(info.ip).toBe('::ffff:10.0.0.7');
    expect(info.userAgent).toBe('curl/8.5.0');
    const long = createRequestInfo({ ip: '1'.repeat(100), userAgent: 'a'.repeat(5_000) });
    expect(long.ip).toHaveLength(64);
    expect(long.userAgent).toHaveLength(512);
    const none = createRequestInfo({ userAgent: '' });
    expect(none.ip).toBeUndefined();
    expect(none.userAgent).toBeUndefined();
    expect(JSON.parse(JSON.stringify(none))).not.toHaveProperty('ip');
  });

  it('resolves the actor lazily, after authentication', () => {
    let user: string | undefined;
    const info = createRequestInfo({ actorResolver: () => user });
    expect(info.actor).toBeUndefined();
    user = 'alice';
    expect(info.actor).toBe('alice');
    user = 'mallory';
    expect(info.actor).toBe('alice');
  });

  it('resolves the actor through a resolver and its source, without a closure per request', () => {
    const req: { user?: { id: string } } = {};
    const info = createRequestInfo({
      actorResolver: (source: typeof req) => source.user?.id,
      actorSource: req,
    });
    expect(info.actor).toBeUndefined();
    req.user = { id: 'bob' };
    expect(info.actor).toBe('bob');
    req.user = { id: 'mallory' };
    expect(info.actor).toBe('bob');
    expect(createRequestInfo({ actor: 'carol', actorResolver: () => 'dave' }).actor).toBe('carol');
  });

  it('keeps a built info as it is in run(), and serialises the lazy actor', () => {
    let user: string | undefined;
    const info = createRequestInfo({
      correlationId: 'c-3',
      tenant: 't',
      actorResolver: () => user,
    });
    RequestContext.run(info, () => {
      expect(RequestContext.current()).toBe(info);
      user = 'erin';
      expect(RequestContext.actor()).toBe('erin');
    });
    expect(JSON.parse(JSON.stringify(info))).toEqual({
      correlationId: 'c-3',
      tenant: 't',
      actor: 'erin',
    });
    expect({
      ...RequestContext.run({ correlationId: 'c-4' }, () => RequestContext.current()),
    }).toEqual(expect.objectContaining({ correlationId: 'c-4' }));
  });

  it('binds values on top of the current context without losing the request', async () => {
    const key = Symbol('k');
    await RequestContext.run({ correlationId: 'c-2' }, async () => {
      await RequestContext.runWithValue(key, 1, async () => {
        await delay(1);
        expect(RequestContext.getValue(key)).toBe(1);
        expect(RequestContext.correlationId()).toBe('c-2');
        RequestContext.runWithValue(key, 2, () => expect(RequestContext.getValue(key)).toBe(2));
        expect(RequestContext.getValue(key)).toBe(1);
      });
      expect(RequestContext.getValue(key)).toBeUndefined();
    });
  });
});

describe('tenant validation', () => {
  const VALID = ['acme', 'acme-corp_1.eu', 'ORG42', '5f0c6c1e-8f5e-4b1e-9a4e-2f9d5a0b7c11'];
  const INVALID = [
    '',
    'acme corp',
    'acme, evil', // two x-tenant-id headers, as Node joins them
    'bad\nid',
    'acme:admin',
    'tenant/{x}',
    'été',
    '😀',
    'x'.repeat(129),
  ];
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('keeps a valid tenant as given', () => {
    for (const tenant of [...VALID, 'x'.repeat(128)]) {
      expect(createRequestInfo({ tenant }).tenant).toBe(tenant);
      expect(RequestContext.isValidTenant(tenant)).toBe(true);
    }
    expect(createRequestInfo({}).tenant).toBeUndefined();
  });

  it('refuses an invalid tenant instead of attributing the work to it', () => {
    for (const tenant of INVALID) {
      expect(RequestContext.isValidTenant(tenant)).toBe(false);
      const error = refusal(() => createRequestInfo({ tenant }));
      expect(isKeelError(error) && error.code).toBe('KEEL_TENANT_INVALID');
      expect(error).toMatchObject({ status: 400 });
      expect((error as Error).message).toMatch(/tenant id .* is not valid/);
      // The value is quoted as JSON, never raw: no control characters reach a log line.
      expect((error as Error).message).not.toContain('\n');
      const ran = refusal(() => RequestContext.run({ tenant }, () => 'ran'));
      expect(isKeelError(ran) && ran.code).toBe('KEEL_TENANT_INVALID');
    }
  });

  it('refuses a message whose tenant header is invalid (microservice handlers)', async () => {
    const interceptor = new RequestContextInterceptor('x-tenant-id');
    const rpc = (headers: Record<string, unknown>) => {
      const host = new ExecutionContextHost([{}, { getMessage: () => ({ headers }) }]);
      host.setType('rpc');
      return host;
    };
    let handled = 0;
    const handler = {
      handle: () =>
        defer(async () => {
          handled++;
          return RequestContext.tenant();
        }),
    };
    await expect(
      firstValueFrom(interceptor.intercept(rpc({ 'x-tenant-id': Buffer.from('acme') }), handler)),
    ).resolves.toBe('acme');
    const error = await firstValueFrom(
      interceptor.intercept(rpc({ 'x-tenant-id': Buffer.from('acme corp') }), handler),
    ).catch((e: unknown) => e);
    expect(isKeelError(error) && error.code).toBe('KEEL_TENANT_INVALID');
    expect(handled).toBe(1);
  });

  it('reads the configured tenant header in microservice handlers, and none when it is false', async () => {
    const rpc = (headers: Record<string, unknown>) => {
      const host = new ExecutionContextHost([{}, { getMessage: () => ({ headers }) }]);
      host.setType('rpc');
      return host;
    };
    const handler = { handle: () => defer(async () => RequestContext.tenant() ?? null) };
    const custom = new RequestContextInterceptor('x-org');
    await expect(
      firstValueFrom(custom.intercept(rpc({ 'x-org': 'acme', 'x-tenant-id': 'other' }), handler)),
    ).resolves.toBe('acme');
    const none = new RequestContextInterceptor(undefined);
    await expect(
      firstValueFrom(none.intercept(rpc({ 'x-tenant-id': 'not used here' }), handler)),
    ).resolves.toBeNull();
  });
});
