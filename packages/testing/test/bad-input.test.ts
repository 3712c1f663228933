import { ErrorCode, encode, Header } from '@switchyard/core';
import { MemoryTransport } from '@switchyard/core/memory';
import type { TransportMessage } from '@switchyard/core/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlow, type Flow } from '../src/index.js';
import { PlaceOrder } from './shop-contracts.js';

/**
 * Bad input never crashes a consumer and is never lost: each kind of bad
 * message lands in the dead letter with its reason, and the good message sent
 * after all of them is still handled.
 */
describe('bad input', () => {
  let flow: Flow;
  afterEach(() => flow?.stop());

  function valid(
    overrides: { type?: string; target?: string; body?: string; extra?: Record<string, string> } = {},
  ): TransportMessage {
    const id = `01a2170f-0000-7000-8000-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`;
    const message = encode({
      headers: {
        id,
        name: overrides.type ?? PlaceOrder.name,
        kind: 'command',
        source: 'attacker',
        targetService: overrides.target ?? 'order-service',
        correlationId: id,
        time: new Date().toISOString(),
        contentType: 'application/json',
        attempt: 1,
        metadata: {},
      },
      payload: { orderId: 'ok', items: [{ sku: 'a', quantity: 1 }] },
    });
    const headers = { ...message.headers, ...overrides.extra };
    return {
      id,
      headers,
      body: overrides.body === undefined ? message.body : new TextEncoder().encode(overrides.body),
    };
  }

  function withBody(message: TransportMessage, body: Uint8Array): TransportMessage {
    return { ...message, body };
  }

  function without(message: TransportMessage, header: string): TransportMessage {
    const { [header]: _dropped, ...headers } = message.headers;
    return { ...message, headers };
  }

  it('dead-letters a message without any id under a generated id, and says so in the record', async () => {
    flow = createFlow();
    const order = flow.service({ name: 'order-service' });
    order.handle(PlaceOrder, () => undefined, { distributed: true });
    await flow.start();
    const raw = new MemoryTransport({ broker: flow.broker });
    const anonymous = without({ ...valid(), id: '' }, Header.id);
    await raw.send('order-service', [anonymous]);
    await flow.spy.until(() => flow.spy.deadLettered.length === 1, 'the id-less message dead-lettered');
    const [record] = await flow.deadLetters.list();
    expect(record?.reason.code).toBe(ErrorCode.Decode);
    expect(record?.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(record?.reason.message).toContain(`the message had no id; messageId ${record?.messageId} was generated`);
    await raw.close();
  });

  it('dead-letters each bad message with its reason and keeps consuming', async () => {
    flow = createFlow();
    const handled: string[] = [];
    const order = flow.service({ name: 'order-service', maxMessageBytes: 16 * 1024 });
    order.handle(PlaceOrder, (command) => void handled.push(command.orderId), { distributed: true });
    await flow.start();
    const raw = new MemoryTransport({ broker: flow.broker });

    const cases: Array<[string, TransportMessage, string]> = [
      ['truncated JSON', valid({ body: '{"orderId":"x","items":[' }), ErrorCode.Decode],
      [
        '__proto__ payload',
        valid({ body: '{"orderId":"x","items":[],"__proto__":{"polluted":true}}' }),
        ErrorCode.Decode,
      ],
      [
        'constructor.prototype payload',
        valid({ body: '{"constructor":{"prototype":{"polluted":true}}}' }),
        ErrorCode.Decode,
      ],
      [
        'oversize message',
        valid({ body: JSON.stringify({ orderId: 'x'.repeat(20_000), items: [] }) }),
        ErrorCode.TooLarge,
      ],
      ['unknown type', valid({ type: 'order.teleport' }), ErrorCode.NoHandler],
      ['schema-invalid payload', valid({ body: '{"orderId":42,"items":"none"}' }), ErrorCode.Validation],
      ['command for another service', valid({ target: 'billing-service' }), ErrorCode.Misaddressed],
      ['missing type header', valid({ extra: { [Header.type]: '' } }), ErrorCode.Decode],
      ['unknown kind', valid({ extra: { [Header.kind]: 'rumour' } }), ErrorCode.Decode],
      ['bad attempt header', valid({ extra: { [Header.attempt]: '-3' } }), ErrorCode.Decode],
      [
        'invalid UTF-8 body',
        withBody(valid(), new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
        ErrorCode.Decode,
      ],
      ['CloudEvents 0.3', valid({ extra: { [Header.specversion]: '0.3' } }), ErrorCode.Decode],
      ['no specversion', without(valid(), Header.specversion), ErrorCode.Decode],
      ['no source', without(valid(), Header.source), ErrorCode.Decode],
    ];
    for (const [, message] of cases) await raw.send('order-service', [message]);
    const good = valid();
    await raw.send('order-service', [good]);

    await flow.spy.until(
      () => flow.spy.deadLettered.length === cases.length && handled.length === 1,
      'every bad message dead-lettered',
    );
    await flow.idle();

    const records = await flow.deadLetters.list();
    for (const [label, message, code] of cases) {
      const record = records.find((r) => r.messageId === message.id || r.message === message);
      expect(record, label).toBeDefined();
      expect(record?.reason.code, label).toBe(code);
      expect(record?.reason.message.length, label).toBeGreaterThan(5);
      expect(record?.message.body, label).toEqual(message.body);
    }
    expect(handled).toEqual(['ok']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Nothing lost: every id sent is either handled or dead-lettered.
    const accounted = new Set([...records.map((r) => r.message.id), ...flow.spy.handled.map((e) => e.id)]);
    for (const [, message] of cases) expect(accounted.has(message.id)).toBe(true);
    expect(accounted.has(good.id)).toBe(true);
    await raw.close();
  });
});
