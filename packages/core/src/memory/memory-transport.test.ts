import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { utf8Bytes } from '../message/utf8-bytes.js';
import type { Delivery, TransportMessage } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { MemoryBroker } from './broker.js';
import { MemoryTransport } from './memory-transport.js';

const encoder = new TextEncoder();
let counter = 0;

function message(extra: Partial<TransportMessage> = {}): TransportMessage {
  const id = `m-${++counter}`;
  return {
    id,
    headers: { 'ce-id': id, 'content-type': 'application/json' },
    body: encoder.encode(`{"n":${counter}}`),
    ...extra,
  };
}

async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  for (let n = 0; n < 2_000 && !predicate(); n++) await new Promise((resolve) => setImmediate(resolve));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

describe('MemoryTransport basics', () => {
  it('delivers what was sent, intact, and acks remove it', async () => {
    const transport = new MemoryTransport();
    const sent = message({ key: 'k' });
    const got: Delivery[] = [];
    await transport.consume('inbox', async (d) => {
      got.push(d);
      await d.ack();
    });
    await transport.send('inbox', [sent]);
    await until(() => got.length === 1);
    expect(got[0]!.message).toEqual(sent);
    expect(got[0]!.deliveryCount).toBe(1);
    expect(got[0]!.channel).toBe('inbox');
    expect(transport.broker.stats('inbox')).toMatchObject({ ready: 0, delayed: 0, consumers: 1 });
    await transport.close();
  });

  it('shares a channel between transports on one broker (competing consumers)', async () => {
    const broker = new MemoryBroker();
    const a = new MemoryTransport({ broker });
    const b = new MemoryTransport({ broker });
    const seen = { a: [] as string[], b: [] as string[] };
    await a.consume('work', async (d) => {
      seen.a.push(d.message.id);
      await d.ack();
    });
    await b.consume('work', async (d) => {
      seen.b.push(d.message.id);
      await d.ack();
    });
    const messages = Array.from({ length: 50 }, () => message());
    await a.send('work', messages);
    await until(() => seen.a.length + seen.b.length === 50);
    expect(seen.a.length).toBeGreaterThan(0);
    expect(seen.b.length).toBeGreaterThan(0);
    expect(new Set([...seen.a, ...seen.b]).size).toBe(50);
    await Promise.all([a.close(), b.close()]);
  });

  it('fans events out by pattern and replaces subscriptions on provision', async () => {
    const transport = new MemoryTransport();
    await transport.provision({
      channels: [
        { name: 'star', subscriptions: ['order.*'] },
        { name: 'all', subscriptions: ['#', 'order.placed'] },
      ],
    });
    const event = { ...message(), routingKey: 'order.placed' };
    const nested = { ...message(), routingKey: 'order.item.added' };
    await transport.publish([event, nested]);
    expect(transport.broker.stats('star')?.ready).toBe(1);
    expect(transport.broker.stats('all')?.ready).toBe(2);
    await transport.provision({ channels: [{ name: 'star', subscriptions: [] }] });
    await transport.publish([{ ...message(), routingKey: 'order.placed' }]);
    expect(transport.broker.stats('star')).toMatchObject({ ready: 1, subscriptions: [] });
    await expect(
      transport.provision({ channels: [{ name: 'x', subscriptions: ['bad pattern'] }] }),
    ).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
  });

  it('honours concurrency and prefetch: unsettled deliveries count until settled', async () => {
    const transport = new MemoryTransport();
    const held: Delivery[] = [];
    let running = 0;
    let maxRunning = 0;
    await transport.consume(
      'limits',
      async (d) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        held.push(d);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
      },
      { concurrency: 2, prefetch: 3 },
    );
    await transport.send(
      'limits',
      Array.from({ length: 10 }, () => message()),
    );
    await until(() => held.length === 3);
    for (let n = 0; n < 20; n++) await new Promise((resolve) => setImmediate(resolve));
    expect(held.length).toBe(3);
    expect(maxRunning).toBe(2);
    await held[0]!.ack();
    await until(() => held.length === 4);
    await transport.close();
    expect(transport.broker.stats('limits')?.ready).toBe(9); // 10 sent, 1 acked; the 3 unsettled went back
  });

  it('nack puts the message back at the front with a higher delivery count; a rejecting handler nacks', async () => {
    const transport = new MemoryTransport();
    const seen: Array<[string, number]> = [];
    const first = message();
    const second = message();
    await transport.consume('nack', async (d) => {
      seen.push([d.message.id, d.deliveryCount]);
      if (d.message.id === first.id && d.deliveryCount === 1) await d.nack();
      else if (d.message.id === first.id && d.deliveryCount === 2) throw new Error('boom');
      else await d.ack();
    });
    await transport.send('nack', [first, second]);
    await until(() => seen.length === 4);
    expect(seen).toEqual([
      [first.id, 1],
      [first.id, 2],
      [first.id, 3],
      [second.id, 1],
    ]);
    await transport.close();
  });

  it('settles once: a second ack or nack has no effect', async () => {
    const transport = new MemoryTransport();
    let deliveries = 0;
    await transport.consume('once', async (d) => {
      deliveries++;
      await d.ack();
      await d.nack();
      await d.ack();
    });
    await transport.send('once', [message()]);
    await until(() => deliveries === 1);
    for (let n = 0; n < 10; n++) await new Promise((resolve) => setImmediate(resolve));
    expect(deliveries).toBe(1);
    expect(transport.broker.stats('once')?.ready).toBe(0);
  });

  it('behaveAs weakens capabilities: early delivery of delayed messages, unfiltered fan-out', async () => {
    const transport = new MemoryTransport({ behaveAs: { delayedDelivery: 'emulated', patternFiltering: 'client' } });
    expect(transport.capabilities).toMatchObject({ delayedDelivery: 'emulated', patternFiltering: 'client' });
    await transport.provision({
      channels: [
        { name: 'orders', subscriptions: ['order.*'] },
        { name: 'payments', subscriptions: ['payment.*'] },
        { name: 'plain', subscriptions: [] },
      ],
    });
    await transport.publish([{ ...message(), routingKey: 'order.placed' }]);
    expect(transport.broker.stats('orders')?.ready).toBe(1);
    expect(transport.broker.stats('payments')?.ready).toBe(1);
    expect(transport.broker.stats('plain')?.ready).toBe(0);
    await transport.send('plain', [message({ deliverAt: Date.now() + 60_000 })]);
    expect(transport.broker.stats('plain')).toMatchObject({ ready: 1, delayed: 0 });
  });

  it('rejects oversized messages with SY_TOO_LARGE', async () => {
    const transport = new MemoryTransport({ maxMessageBytes: 100_000 });
    await expect(transport.send('big', [message({ body: new Uint8Array(100_001) })])).rejects.toMatchObject({
      code: ErrorCode.TooLarge,
    });
    await expect(transport.send('big', [message({ body: new Uint8Array(90_000) })])).resolves.toBeUndefined();
  });
});

describe('MemoryTransport close', () => {
  it('drains the in-flight handler, returns unsettled deliveries, and is idempotent', async () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const unsettled: Delivery[] = [];
    await transport.consume(
      'drain',
      async (d) => {
        if (unsettled.length === 0) {
          unsettled.push(d);
          return; // left unsettled on purpose
        }
        await gate;
        await d.ack();
        order.push('acked');
      },
      { concurrency: 2 },
    );
    await transport.send('drain', [message(), message()]);
    await until(() => unsettled.length === 1);
    const closing = transport.close().then(() => order.push('closed'));
    expect(transport.close()).toBe(transport.close());
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    release();
    await closing;
    expect(order).toEqual(['acked', 'closed']);
    expect(broker.stats('drain')).toMatchObject({ ready: 1, consumers: 0 });
    await unsettled[0]!.ack(); // too late: no effect
    expect(broker.stats('drain')?.ready).toBe(1);
    await expect(transport.send('drain', [message()])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(transport.publish([{ ...message(), routingKey: 'a' }])).rejects.toMatchObject({
      code: ErrorCode.Closed,
    });
    await expect(transport.consume('drain', async () => undefined)).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.Closed });
  });

  it('gives up draining after drainTimeoutMs and still returns the delivery', async () => {
    const transport = new MemoryTransport({ drainTimeoutMs: 20 });
    let started = false;
    await transport.consume('stuck', async () => {
      started = true;
      await new Promise(() => undefined);
    });
    await transport.send('stuck', [message()]);
    await until(() => started);
    await transport.close();
    expect(transport.broker.stats('stuck')?.ready).toBe(1);
  });
});

describe('MemoryTransport delayed messages', () => {
  it('holds a delayed body as bytes of its own, not as a view that pins a shared pool slab', async () => {
    const due: Array<() => void> = [];
    const clock: Clock = {
      now: () => 1_000,
      schedule: (_ms, callback) => {
        due.push(callback);
        return () => undefined;
      },
    };
    const transport = new MemoryTransport({ clock });
    const got: Delivery[] = [];
    await transport.consume('later', async (d) => {
      got.push(d);
      await d.ack();
    });
    const body = utf8Bytes('{"n":"later"}');
    expect(body.buffer.byteLength).toBeGreaterThan(body.byteLength);
    await transport.send('later', [{ id: 'd1', headers: { 'ce-id': 'd1' }, body, deliverAt: 61_000 }]);
    expect(got).toHaveLength(0);
    for (const fire of due.splice(0)) fire();
    await until(() => got.length === 1, 'the delayed delivery');
    const delivered = got[0]?.message.body;
    expect(delivered?.buffer.byteLength).toBe(body.byteLength);
    expect(new TextDecoder().decode(delivered)).toBe('{"n":"later"}');
    await transport.close();
  });
});
