import { describe, expect, it } from 'vitest';
import { ownBytes, utf8Bytes, withOwnBody } from './utf8-bytes.js';

describe('utf8Bytes', () => {
  it('gives the same bytes as TextEncoder, lone surrogates included', () => {
    for (const text of ['', '{"a":1}', 'é ✓ 😀', 'a\ud800b', 'x'.repeat(10_000)]) {
      expect([...utf8Bytes(text)]).toEqual([...new TextEncoder().encode(text)]);
    }
  });

  it('a view of its own bytes only, even when it shares an allocation pool', () => {
    const first = utf8Bytes('first');
    const second = utf8Bytes('second');
    expect(new TextDecoder().decode(new Uint8Array(second.buffer, second.byteOffset, second.byteLength))).toBe(
      'second',
    );
    expect(first.byteLength).toBe(5);
  });

  it('ownBytes copies a pooled view into memory of its own and leaves a whole buffer as it is', () => {
    const pooled = utf8Bytes('{"pooled":true}');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength); // a slice of the pool
    const owned = ownBytes(pooled);
    expect(owned.buffer.byteLength).toBe(owned.byteLength);
    expect(Buffer.isBuffer(owned)).toBe(true); // same kind as given
    const view = new Uint8Array(owned.buffer, 1, 3);
    expect(ownBytes(view)).toEqual(new Uint8Array([...owned.subarray(1, 4)]));
    expect([...owned]).toEqual([...pooled]);
    expect(ownBytes(owned)).toBe(owned);
    const message = { id: 'm', headers: {}, body: owned };
    expect(withOwnBody(message)).toBe(message);
    expect(withOwnBody({ ...message, body: pooled }).body.buffer.byteLength).toBe(pooled.byteLength);
  });
});
