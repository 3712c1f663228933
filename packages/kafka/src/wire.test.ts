import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from './client.js';
import { fromRecord, InternalHeader, redeliveryRecord, toRecord } from './wire.js';

function incoming(record: ReturnType<typeof toRecord>, offset = '7'): IncomingRecord {
  return { offset, key: record.key, value: record.value, headers: record.headers, timestamp: 1 };
}

describe('kafka wire mapping', () => {
  it('round-trips id, headers, key and body, and strips internal headers on delivery', () => {
    const message = { id: 'm1', headers: { 'ce-id': 'm1', 'ce-type': 'a.b' }, body: new Uint8Array([1, 2]), key: 'k' };
    const record = toRecord('t', message, { [InternalHeader.routingKey]: 'a.b' });
    expect(record.key).toBe('k');
    const decoded = fromRecord('t', 0, incoming(record));
    expect(decoded.message).toEqual(message);
    expect(decoded.routingKey).toBe('a.b');
    expect(decoded.deliveryCount).toBe(1);
  });

  it('writes the CloudEvents Kafka binding (ce_ headers) by default, ce- on request, and reads both', () => {
    const message = {
      id: 'm1',
      headers: { 'ce-id': 'm1', 'ce-type': 'a.b', 'content-type': 'application/json' },
      body: new Uint8Array([1]),
    };
    const record = toRecord('t', message);
    expect(record.headers).toEqual({ ce_id: 'm1', ce_type: 'a.b', 'content-type': 'application/json' });
    expect(toRecord('t', message, undefined, 'ce-').headers).toEqual(message.headers);
    expect(fromRecord('t', 0, incoming(record)).message).toEqual(message);
    expect(fromRecord('t', 0, incoming(toRecord('t', message, undefined, 'ce-'))).message).toEqual(message);
  });

  it('routes a record without the internal routing header by its CloudEvents type, binary or structured', () => {
    const binary = fromRecord('t', 0, {
      offset: '1',
      key: undefined,
      value: new Uint8Array(),
      headers: { ce_type: 'order.placed' },
      timestamp: 1,
    });
    expect(binary.routingKey).toBe('order.placed');
    const structured = fromRecord('t', 0, {
      offset: '2',
      key: undefined,
      value: new TextEncoder().encode('{"specversion":"1.0","id":"x","type":"order.shipped","source":"s"}'),
      headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' },
      timestamp: 1,
    });
    expect(structured.routingKey).toBe('order.shipped');
  });

  it('carries an id that differs from ce-id, and names foreign records by position', () => {
    const decoded = fromRecord('t', 0, incoming(toRecord('t', { id: 'own', headers: {}, body: new Uint8Array() })));
    expect(decoded.message.id).toBe('own');
    expect(decoded.message.headers).toEqual({});
    const foreign = fromRecord('t', 2, {
      offset: '9',
      key: undefined,
      value: new Uint8Array(),
      headers: {},
      timestamp: 1,
    });
    expect(foreign.message.id).toBe('kafka:t/2/9');
  });

  it('a redelivery counts up and carries the new due time', () => {
    const first = fromRecord(
      't',
      0,
      incoming(toRecord('t', { id: 'm', headers: { 'ce-id': 'm' }, body: new Uint8Array(), deliverAt: 5 })),
    );
    expect(first.due).toBe(5);
    const again = fromRecord('t', 0, incoming(redeliveryRecord('t', first, { deliveryCount: 2, due: 99 })));
    expect(again.deliveryCount).toBe(2);
    expect(again.due).toBe(99);
    expect(again.message.deliverAt).toBe(99);
    expect(again.message.headers).toEqual({ 'ce-id': 'm' });
    const forwarded = fromRecord('t', 0, incoming(redeliveryRecord('t', again, { deliveryCount: 2, due: null })));
    expect(forwarded.due).toBeUndefined();
    expect(forwarded.message.deliverAt).toBeUndefined();
  });
});
