import { describe, expect, it } from '@jest/globals';
import { setTimeout as delay } from 'node:timers/promises';
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

  it('resolves the actor lazily, after authentication', () => {
    let user: string | undefined;
    const info = createRequestInfo({ actorResolver: () => user });
    expect(info.actor).toBeUndefined();
    user = 'alice';
    expect(info.actor).toBe('alice');
    user = 'mallory';
    expect(info.actor).toBe('alice');
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
