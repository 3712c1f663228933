import { fromStructured } from '@switchyard/core/transport';
import type { Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { delayBucket } from './delay.js';
import { deliveryCountOf, fromAmqp, publishOptions, toAmqp } from './wire.js';

const received = (headers: Record<string, unknown>, properties: Partial<Message['properties']> = {}): Message =>
  ({
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
    properties: { headers, ...properties },
  }) as unknown as Message;

describe('wire mapping', () => {
  it('maps content-type to the AMQP property, the id to message_id, and everything as persistent', () => {
    const options = publishOptions(
      {
        id: 'id-1',
        headers: { 'ce-id': 'id-1', 'content-type': 'application/json' },
        body: new Uint8Array(),
        key: 'k',
      },
      true,
    );
    expect(options).toMatchObject({
      persistent: true,
      mandatory: true,
      messageId: 'id-1',
      contentType: 'application/json',
    });
    expect(options.headers).toEqual({ 'ce-id': 'id-1', 'sy-key': 'k' });
  });

  it('structured mode: the event as one JSON body, only sy- headers in the table, read back unchanged', () => {
    const message = {
      id: 'id-2',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'id-2',
        'ce-type': 'order.placed',
        'ce-source': 'orders',
        'ce-attempt': '2',
        'content-type': 'application/json',
      },
      body: new TextEncoder().encode('{"orderId":"o-1"}'),
      key: 'k',
    };
    const { body, options } = toAmqp(message, false, { 'sy-delay': 500 }, 'cloudevents', 'structured');
    expect(options).toMatchObject({ messageId: 'id-2', contentType: 'application/cloudevents+json', mandatory: false });
    expect(options.headers).toEqual({ 'sy-key': 'k', 'sy-delay': 500 });
    expect(JSON.parse(body.toString('utf8'))).toEqual({
      specversion: '1.0',
      id: 'id-2',
      type: 'order.placed',
      source: 'orders',
      attempt: '2',
      datacontenttype: 'application/json',
      data: { orderId: 'o-1' },
    });
    const back = fromAmqp(received(options.headers ?? {}, { contentType: options.contentType, messageId: 'id-2' }));
    expect(back.key).toBe('k');
    expect(fromStructured(body).headers).toEqual(message.headers);
    // Ecotone's form and messages that are structured already go out as binary mode sends them.
    expect(toAmqp(message, false, undefined, 'ecotone', 'structured').options.contentType).toBe('application/json');
    const already = { ...message, headers: { 'content-type': 'application/cloudevents+json' }, body };
    expect(toAmqp(already, false, undefined, 'cloudevents', 'structured').body).toEqual(body);
  });

  it('binary mode leaves default-valued attempt, correlation id and kind out of the table and reads them back', () => {
    const base = {
      'ce-specversion': '1.0',
      'ce-id': 'id-3',
      'ce-type': 'order.place',
      'ce-source': 'orders',
      'ce-time': '2026-01-01T00:00:00.000Z',
      'content-type': 'application/json',
    };
    const roundTrip = (headers: Record<string, string>) => {
      const { options } = toAmqp(
        { id: 'id-3', headers, body: new Uint8Array() },
        true,
        undefined,
        'cloudevents',
        'binary',
      );
      const table = options.headers ?? {};
      return {
        table,
        back: fromAmqp(received(table, { contentType: options.contentType, messageId: 'id-3' })).headers,
      };
    };
    const command = {
      ...base,
      'ce-kind': 'command',
      'ce-targetservice': 'billing',
      'ce-correlationid': 'id-3',
      'ce-attempt': '1',
    };
    const defaults = roundTrip(command);
    expect(Object.keys(defaults.table).sort()).toEqual(
      ['ce-id', 'ce-source', 'ce-specversion', 'ce-targetservice', 'ce-time', 'ce-type'].sort(),
    );
    expect(defaults.back).toEqual(command);
    // An event needs no kind either; a query, another correlation id and a retry's attempt keep theirs.
    const event = { ...base, 'ce-kind': 'event', 'ce-correlationid': 'id-3', 'ce-attempt': '1' };
    expect(roundTrip(event).table['ce-kind']).toBeUndefined();
    expect(roundTrip(event).back).toEqual(event);
    const other = { ...base, 'ce-kind': 'query', 'ce-correlationid': 'c-9', 'ce-attempt': '3' };
    expect(roundTrip(other).table).toMatchObject({ 'ce-kind': 'query', 'ce-correlationid': 'c-9', 'ce-attempt': '3' });
    expect(roundTrip(other).back).toEqual(other);
    // Without a specversion (no CloudEvent of ours), or on a structured document, nothing is left out or added.
    const plain = { 'ce-id': 'id-3', 'ce-attempt': '1', 'content-type': 'application/json' };
    expect(roundTrip(plain).table).toEqual({ 'ce-id': 'id-3', 'ce-attempt': '1' });
    expect(roundTrip(plain).back).toEqual(plain);
    const structured = { ...command, 'content-type': 'application/cloudevents+json' };
    expect(roundTrip(structured).table['ce-attempt']).toBe('1');
  });

  it('reads the AMQP binding names (cloudEvents_ and cloudEvents:) and ce_ as ce-; ce- wins over them', () => {
    const message = fromAmqp(
      received(
        { cloudEvents_id: 'a', 'cloudEvents:type': 't', ce_source: 's', 'cloudEvents:time': 'x', 'ce-time': 'y' },
        { contentType: 'application/json' },
      ),
    );
    expect(message.headers).toEqual({
      'ce-id': 'a',
      'ce-type': 't',
      'ce-source': 's',
      'ce-time': 'y',
      'content-type': 'application/json',
    });
    expect(message.id).toBe('a');
  });

  it('reads back headers as text, drops x- and sy- bookkeeping, restores key and deliverAt', () => {
    const message = fromAmqp(
      received(
        {
          'ce-id': 'a',
          'ce-attempt': 2,
          'x-death': [{}],
          'sy-delay': '64',
          'sy-key': 'k',
          'sy-deliverat': 5,
          bin: Buffer.from('b'),
        },
        { contentType: 'application/json', messageId: 'a' },
      ),
    );
    expect(message).toMatchObject({ id: 'a', key: 'k', deliverAt: 5 });
    expect(message.headers).toEqual({ 'ce-id': 'a', 'ce-attempt': '2', bin: 'b', 'content-type': 'application/json' });
  });

  it('counts deliveries from the redelivered flag, x-delivery-count and its own counter', () => {
    expect(deliveryCountOf(received({}), false)).toBe(1);
    expect(deliveryCountOf(received({}), true)).toBe(2);
    expect(deliveryCountOf(received({ 'x-delivery-count': 2 }), true)).toBe(3);
    expect(deliveryCountOf(received({ 'sy-deliveries': 3 }), false)).toBe(4);
  });
});

describe('delayBucket', () => {
  it('never rounds down, stays within ~6%, and shares buckets between close delays', () => {
    for (const ms of [1, 7, 100, 999, 1_000, 1_234, 65_000, 3_600_000]) {
      const bucket = delayBucket(ms);
      expect(bucket).toBeGreaterThanOrEqual(ms);
      expect(bucket).toBeLessThanOrEqual(Math.ceil(ms * 1.0625));
    }
    expect(delayBucket(1_000)).toBe(delayBucket(1_010));
  });
});
