import { describe, expect, it } from 'vitest';
import { Attr, fromWire, toWire, unwrapSnsEnvelope } from './wire.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const message = (body: string, headers: Record<string, string> = {}) => ({
  id: 'id-1',
  headers: { 'ce-id': 'id-1', 'ce-type': 'order.placed', 'content-type': 'application/json', ...headers },
  body: encoder.encode(body),
  key: 'k1',
});

describe('wire', () => {
  it('round-trips a canonical JSON payload as a structured CloudEvent', () => {
    const wire = toWire(message('{"a":1}'), { routingKey: 'order.placed', due: 5 });
    expect(JSON.parse(wire.body)).toEqual({
      id: 'id-1',
      type: 'order.placed',
      datacontenttype: 'application/json',
      data: { a: 1 },
    });
    expect(wire.attributes).toEqual({ [Attr.routingKey]: 'order.placed', [Attr.key]: 'k1', [Attr.due]: '5' });
    const back = fromWire(wire.body, wire.attributes);
    expect(back.headers).toEqual(message('').headers);
    expect(decoder.decode(back.body)).toBe('{"a":1}');
    expect(back.key).toBe('k1');
    expect(back.deliverAt).toBe(5);
  });

  it("round-trips Ecotone's layout: the payload as the body, every header in the Headers attribute", () => {
    const sent = message('{"a":1}', { 'ce-specversion': '1.0', 'ce-kind': 'event', tenantId: 't-7' });
    const wire = toWire(sent, { due: 5 }, 'ecotone');
    expect(wire.body).toBe('{"a":1}');
    const [enqueue, properties] = JSON.parse(wire.attributes[Attr.enqueueHeaders] ?? '') as [unknown, unknown];
    expect(enqueue).toEqual({});
    expect(properties).toMatchObject({
      'ecotone.distributed.routingKey': 'order.placed',
      'ecotone.distributed.payloadType': 'event',
      id: 'id-1',
      tenantId: 't-7',
      'ce-type': 'order.placed',
    });
    const back = fromWire(wire.body, wire.attributes);
    // Both forms present: the CloudEvents attributes win and Ecotone's copies do not surface as metadata.
    expect(back.headers).toEqual(sent.headers);
    expect(decoder.decode(back.body)).toBe('{"a":1}');
    expect(back).toMatchObject({ id: 'id-1', key: 'k1', deliverAt: 5 });
  });

  it("reads a foreign producer's binary mode: ce_ or ce- attributes with a specversion, the body as data", () => {
    const back = fromWire('{"orderId":"o-1"}', {
      ce_specversion: '1.0',
      ce_id: 'f-1',
      'ce-type': 'order.placed',
      ce_source: 'php',
      'content-type': 'application/json',
    });
    expect(back).toEqual({
      id: 'f-1',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'f-1',
        'ce-type': 'order.placed',
        'ce-source': 'php',
        'content-type': 'application/json',
      },
      body: encoder.encode('{"orderId":"o-1"}'),
    });
    // Attributes without a specversion are not binary mode: the body is read as a structured event.
    expect(fromWire(toWire(message('1')).body, { ce_type: 'other' }).headers['ce-type']).toBe('order.placed');
  });

  it('keeps the exact bytes of a non-canonical or non-JSON payload (data_base64)', () => {
    for (const body of ['{ "a" : 1 }', 'not json', '']) {
      const wire = toWire(message(body));
      expect(decoder.decode(fromWire(wire.body, wire.attributes).body)).toBe(body);
    }
  });

  it('carries metadata in other systems’ forms (camelCase, dotted) through structured mode', () => {
    const wire = toWire(message('1', { tenantId: 't-7', 'trace.id': 'abc' }));
    expect(fromWire(wire.body, wire.attributes).headers).toMatchObject({ tenantId: 't-7', 'trace.id': 'abc' });
  });

  it('carries headers outside the ce- namespace in one attribute', () => {
    const wire = toWire(message('1', { 'x-trace': 'abc' }));
    expect(fromWire(wire.body, wire.attributes).headers['x-trace']).toBe('abc');
  });

  it('unwraps an SNS envelope (subscription without raw delivery)', () => {
    const inner = toWire(message('1'), { routingKey: 'order.placed' });
    const envelope = JSON.stringify({
      Type: 'Notification',
      TopicArn: 'arn:aws:sns:us-east-1:0:t',
      Message: inner.body,
      MessageAttributes: { [Attr.routingKey]: { Type: 'String', Value: 'order.placed' } },
    });
    expect(unwrapSnsEnvelope(envelope, {})).toEqual({
      body: inner.body,
      attributes: { [Attr.routingKey]: 'order.placed' },
    });
    expect(unwrapSnsEnvelope(inner.body, { a: 'b' })).toEqual({ body: inner.body, attributes: { a: 'b' } });
  });

  it('rejects a body that is not a structured CloudEvent', () => {
    expect(() => fromWire('[1]', {})).toThrow(/not a JSON object/);
  });
});

describe('wire: payloads core must reject keep their message id', () => {
  it('a __proto__ payload travels as data_base64 and comes back byte for byte', () => {
    const body = '{"n":1,"__proto__":{"x":1}}';
    const wire = toWire(message(body));
    expect(JSON.parse(wire.body).data_base64).toBeDefined();
    const back = fromWire(wire.body, wire.attributes);
    expect(back.id).toBe('id-1');
    expect(decoder.decode(back.body)).toBe(body);
  });

  it('a foreign structured event with a __proto__ data key is still decoded with its id', () => {
    const body = '{"specversion":"1.0","id":"f-1","type":"x","data":{"__proto__":{"polluted":true}}}';
    const back = fromWire(body, {});
    expect(back.id).toBe('f-1');
    expect(decoder.decode(back.body)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
