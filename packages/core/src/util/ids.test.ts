import { v7, validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { formatV7, newId } from './ids.js';

describe('newId', () => {
  it('gives valid UUIDv7 text whose time is now', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('keeps the current time after a test formatted another', () => {
    newId();
    formatV7(0, 0, new Uint8Array(16), 0);
    const ms = Number.parseInt(newId().replaceAll('-', '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(1_000);
  });

  it('never repeats and sorts in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('lays out time, counter and random bytes exactly as the uuid package does', () => {
    for (let i = 0; i < 1_000; i++) {
      const random = Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
      const msecs = Math.floor(Math.random() * 2 ** 48);
      const seq = Math.floor(Math.random() * 2 ** 31);
      expect(formatV7(msecs, seq, random, 0)).toBe(v7({ msecs, seq, random }));
    }
  });
});
