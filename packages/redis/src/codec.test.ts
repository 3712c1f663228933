import { ErrorCode, type TransportMessage } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { decodeEntry, packMessages } from './codec.js';

const encoder = new TextEncoder();

/** Read back what packMessages wrote, as the Lua scripts do with struct.unpack('>I4c0…'). */
function unpack(buf: Buffer, withTargets: boolean): Array<{ targets?: number[]; fields: string[] }> {
  const out: Array<{ targets?: number[]; fields: string[] }> = [];
  let o = 0;
  while (o < buf.length) {
    let targets: number[] | undefined;
    if (withTargets) {
      const count = buf.readUInt32BE(o);
      o += 4;
      targets = [];
      for (let i = 0; i < count; i++, o += 4) targets.push(buf.readUInt32BE(o));
    }
    const fields: string[] = [];
    for (let f = 0; f < 5; f++) {
      const length = buf.readUInt32BE(o);
      fields.push(buf.subarray(o + 4, o + 4 + length).toString('latin1'));
      o += 4 + length;
    }
    out.push(targets ? { targets, fields } : { fields });
  }
  return out;
}

describe('redis codec', () => {
  it('packs id, headers JSON, raw body bytes, key and deliverAt with byte lengths (multi-byte text too)', () => {
    const messages: TransportMessage[] = [
      { id: 'a', headers: { 'ce-x': 'é✓' }, body: new Uint8Array([0, 255, 10]) },
      { id: 'ü', headers: {}, body: encoder.encode('{}'), key: 'κ', deliverAt: 1700000000123.7 },
    ];
    const [first, second] = unpack(packMessages(messages, 1_000), false);
    expect(first!.fields).toEqual(['a', Buffer.from('{"ce-x":"é✓"}').toString('latin1'), '\x00\xff\n', '', '']);
    expect(second!.fields).toEqual([
      Buffer.from('ü').toString('latin1'),
      '{}',
      '{}',
      Buffer.from('+κ').toString('latin1'),
      '1700000000123',
    ]);
  });

  it('prefixes each message with its publish targets', () => {
    const messages: TransportMessage[] = [
      { id: '1', headers: {}, body: new Uint8Array() },
      { id: '2', headers: {}, body: new Uint8Array() },
    ];
    const packed = unpack(packMessages(messages, 1_000, [[1, 2], []]), true);
    expect(packed.map((m) => m.targets)).toEqual([[1, 2], []]);
    expect(packed.map((m) => m.fields[0])).toEqual(['1', '2']);
  });

  it('rejects a message over the limit with SY_TOO_LARGE, as core counts size', () => {
    const big: TransportMessage = { id: 'big', headers: { h: 'x'.repeat(10) }, body: new Uint8Array(100) };
    expect(() => packMessages([big], 110)).toThrow(expect.objectContaining({ code: ErrorCode.TooLarge }));
    // JSON punctuation is not counted: 100 + 1 + 10 = 111 bytes fits a limit of 111.
    expect(() => packMessages([big], 111)).not.toThrow();
  });

  it('decodes leniently: bad header JSON, non-string values and __proto__ never reach the headers', () => {
    const f = (...pairs: string[]) => pairs.map((p) => Buffer.from(p));
    expect(decodeEntry('1-0', f('h', '{oops', 'b', 'x')).message).toMatchObject({ id: '1-0', headers: {} });
    const mixed = decodeEntry('2-0', f('i', 'm', 'h', '{"a":"1","n":2,"__proto__":"p"}', 'd', '3', 'k', 'key')).message;
    expect(mixed.headers).toEqual({ a: '1' });
    expect(Object.getPrototypeOf(mixed.headers)).toBe(Object.prototype);
    expect(mixed.key).toBe('key');
    expect(decodeEntry('2-0', f('d', '3')).priorDeliveries).toBe(3);
    expect(decodeEntry('3-0', f('d', '-1', 't', 'soon')).priorDeliveries).toBe(0);
  });

  it('reads a plain XADD of CloudEvents fields (ce_ or ce- attributes, content-type, data) as a message', () => {
    const f = (...pairs: string[]) => pairs.map((p) => Buffer.from(p));
    const entry = decodeEntry(
      '5-0',
      f(
        'ce_specversion',
        '1.0',
        'ce_id',
        'e-1',
        'ce-type',
        'order.placed',
        'ce_source',
        'go',
        'content-type',
        'application/json',
        'data',
        '{"a":1}',
        'other',
        'ignored',
      ),
    ).message;
    expect(entry.id).toBe('e-1');
    expect(entry.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'e-1',
      'ce-type': 'order.placed',
      'ce-source': 'go',
      'content-type': 'application/json',
    });
    expect(new TextDecoder().decode(entry.body)).toBe('{"a":1}');
    const structured = decodeEntry(
      '6-0',
      f('content-type', 'application/cloudevents+json', 'data', '{"id":"s"}'),
    ).message;
    expect(structured).toMatchObject({ id: '6-0', headers: { 'content-type': 'application/cloudevents+json' } });
  });
});
