import { describe, expect, it } from '@jest/globals';
import { validate, version } from 'uuid';
import { uuidV7 as newEventId } from './uuid-v7.js';

describe('uuidV7', () => {
  it('makes valid, unique UUIDv7s that sort in creation order, within a millisecond too', () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    for (const id of ids.slice(0, 100)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
      expect(id[19]).toMatch(/[89ab]/); // RFC 9562 variant
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the creation time in its first 48 bits', () => {
    const before = Date.now();
    const id = newEventId();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
