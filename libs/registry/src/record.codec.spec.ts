import { describe, expect, it } from '@jest/globals';
import type { InstanceIdentity } from './interfaces/instance.interface.js';
import { RecordCodec, effectiveStatus } from './record.codec.js';

const identity: InstanceIdentity = {
  id: 'i1',
  service: 'pay',
  address: { host: '10.0.0.1', port: 8080, ports: { tcp: 4000 } },
  version: '1.2.3',
  tags: ['a'],
  metadata: { region: 'eu' },
  weight: 2,
  zone: 'z1',
  checks: [{ type: 'http', path: '/health' }],
};
const status = { draining: false, health: 'passing', self: 'passing' } as const;
const raw = (json: string, id = 'i1') => ({ id, json, expiresAt: 123 });

describe('RecordCodec', () => {
  it('round-trips an unsigned record', () => {
    const codec = new RecordCodec(undefined);
    const decoded = codec.decode('pay', raw(codec.encode(identity, status)));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.instance).toMatchObject({ ...identity, status: 'passing', expiresAt: 123 });
    }
  });

  it('rejects a record signed with another secret, or unsigned, when a secret is set', () => {
    const good = new RecordCodec('a-long-shared-secret-1');
    const bad = new RecordCodec('another-secret-xxxxxx');
    const none = new RecordCodec(undefined);
    expect(good.decode('pay', raw(good.encode(identity, status))).ok).toBe(true);
    expect(good.decode('pay', raw(bad.encode(identity, status)))).toEqual({
      ok: false,
      reason: 'signature',
    });
    expect(good.decode('pay', raw(none.encode(identity, status)))).toEqual({
      ok: false,
      reason: 'signature',
    });
  });

  it('accepts only exactly 64 lowercase hex characters as a signature', () => {
    const codec = new RecordCodec('a-long-shared-secret-1');
    const json = codec.encode(identity, status);
    const envelope = JSON.parse(json) as { sig: string };
    expect(envelope.sig).toMatch(/^[0-9a-f]{64}$/);
    // Node's hex decoder stops at the first non-hex character and drops a trailing odd digit,
    // so each of these once decoded to the valid 32 bytes. Checked before and after the body
    // is cached.
    for (const cached of [false, true]) {
      const fresh = cached ? codec : new RecordCodec('a-long-shared-secret-1');
      if (cached) expect(fresh.decode('pay', raw(json)).ok).toBe(true);
      for (const sig of [
        `${envelope.sig}zz`,
        `${envelope.sig}0`,
        `${envelope.sig}00`,
        `${envelope.sig} `,
        envelope.sig.toUpperCase(),
        envelope.sig.slice(0, 63),
      ]) {
        expect(fresh.decode('pay', raw(JSON.stringify({ ...envelope, sig })))).toEqual({
          ok: false,
          reason: 'signature',
        });
      }
    }
  });

  it('rejects a tampered body even after caching the original', () => {
    const codec = new RecordCodec('a-long-shared-secret-1');
    const json = codec.encode(identity, status);
    expect(codec.decode('pay', raw(json)).ok).toBe(true);
    const envelope = JSON.parse(json) as { body: string };
    envelope.body = envelope.body.replace('10.0.0.1', '6.6.6.6');
    expect(codec.decode('pay', raw(JSON.stringify(envelope))).ok).toBe(false);
  });

  it('rejects malformed records and mismatched ids or services', () => {
    const codec = new RecordCodec(undefined);
    expect(codec.decode('pay', raw('not json'))).toEqual({ ok: false, reason: 'malformed' });
    expect(codec.decode('pay', raw('{"body":"{}"}'))).toEqual({ ok: false, reason: 'malformed' });
    const json = codec.encode(identity, status);
    expect(codec.decode('pay', raw(json, 'other'))).toEqual({ ok: false, reason: 'mismatch' });
    expect(codec.decode('orders', raw(json))).toEqual({ ok: false, reason: 'mismatch' });
    const broken = JSON.parse(json) as { body: string };
    broken.body = JSON.stringify({ ...identity, weight: 'heavy' });
    expect(codec.decode('pay', raw(JSON.stringify(broken)))).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('derives a proof only holders of the secret can compute', () => {
    expect(new RecordCodec(undefined).proof('pay', 'i1')).toBe('');
    const a = new RecordCodec('a-long-shared-secret-1').proof('pay', 'i1');
    expect(a).toHaveLength(64);
    expect(new RecordCodec('a-long-shared-secret-1').proof('pay', 'i1')).toBe(a);
    expect(new RecordCodec('another-secret-xxxxxx').proof('pay', 'i1')).not.toBe(a);
  });

  it('effective status: draining wins, else the worse check', () => {
    expect(effectiveStatus(true, 'critical', 'passing')).toBe('draining');
    expect(effectiveStatus(false, 'passing', 'warning')).toBe('warning');
    expect(effectiveStatus(false, 'critical', 'warning')).toBe('critical');
    expect(effectiveStatus(false, 'passing', 'passing')).toBe('passing');
  });
});
