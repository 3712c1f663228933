import { describe, expect, it } from 'vitest';
import { utf8Bytes } from './utf8-bytes.js';

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
});
