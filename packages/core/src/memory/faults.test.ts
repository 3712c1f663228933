import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import type { Delivery, TransportMessage } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { MemoryBroker } from './broker.js';
import type { MemoryFaults } from './faults.js';
import { MemoryTransport } from './memory-transport.js';

/** Time stands still until `advance`; enough of a manual clock for these tests. */
class TestClock implements Clock {
  #now = 1_000_000;
  #timers: Array<{ due: number; callback: () => void; live: boolean }> = [];
  now(): number {
    return this.#now;
  }
  schedule(ms: number, callback: () => void): () => void {
    const timer = { due: this.#now + ms, callback, live: true };
    this.#timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((timer) => timer.live && timer.due <= this.#now).sort((a, b) => a.due - b.due);
    this.#timers = this.#timers.filter((timer) => !due.includes(timer));
    for (const timer of due) timer.callback();
  }
}

const encoder = new TextEncoder();
let counter = 0;
function message(extra: Partial<TransportMessage> = {}): TransportMessage {
  const id = `f-${++counter}`;
  return { id, headers: { 'ce-id': id }, body: encoder.encode('{}'), ...extra };
}
async function settle(rounds = 20): Promise<void> {
  for (let n = 0; n < rounds; n++) await new Promise((resolve) => setImmediate(resolve));
}

async function ackedOrder(faults: MemoryFaults, count: number): Promise<string[]> {
  const transport = new MemoryTransport({ faults });
  const seen: string[] = [];
  await transport.consume('c', async (d) => {
    seen.push(d.message.id.replace(/^f-\d+$/, (id) => id));
    await d.ack();
  });
  const messages = Array.from({ length: count }, (_, n) => message({ id: `x${n}` }));
  await transport.send('c', messages);
  await settle(count + 20);
  await transport.close();
  return seen;
}

describe('MemoryTransport delays', () => {
  it('holds a message with a future deliverAt until the clock reaches it', async () => {
    const clock = new TestClock();
    const transport = new MemoryTransport({ clock });
    const seen: string[] = [];
    await transport.consume('delay', async (d) => {
      seen.push(d.message.id);
      await d.ack();
    });
    const later = message({ deliverAt: clock.now() + 5_000 });
    const due = message({ deliverAt: clock.now() - 1 });
    await transport.send('delay', [later, due]);
    await settle();
    expect(seen).toEqual([due.id]);
    expect(transport.broker.stats('delay')?.delayed).toBe(1);
    clock.advance(4_999);
    await settle();
    expect(seen).toEqual([due.id]);
    clock.advance(1);
    await settle();
    expect(seen).toEqual([due.id, later.id]);
  });

  it('redelivers a nack with delayMs only after the delay', async () => {
    const clock = new TestClock();
    const transport = new MemoryTransport({ clock });
    const counts: number[] = [];
    await transport.consume('nackdelay', async (d) => {
      counts.push(d.deliveryCount);
      if (d.deliveryCount === 1) await d.nack({ delayMs: 1_000 });
      else await d.ack();
    });
    await transport.send('nackdelay', [message()]);
    await settle();
    expect(counts).toEqual([1]);
    clock.advance(999);
    await settle();
    expect(counts).toEqual([1]);
    clock.advance(1);
    await settle();
    expect(counts).toEqual([1, 2]);
  });
});

describe('MemoryTransport fault injection', () => {
  it('dropConnection returns unsettled deliveries; their late acks do nothing; consumers resume', async () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker });
    const held: Delivery[] = [];
    await transport.consume(
      'drop',
      async (d) => {
        held.push(d);
        if (d.deliveryCount > 1) await d.ack();
      },
      { concurrency: 3 },
    );
    await transport.send('drop', [message(), message(), message()]);
    await settle();
    expect(held.map((d) => d.deliveryCount)).toEqual([1, 1, 1]);
    transport.dropConnection();
    await held[0]!.ack(); // on the dead connection: no effect
    await settle();
    expect(held.map((d) => d.deliveryCount)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(held.slice(3).map((d) => d.message.id)).toEqual(held.slice(0, 3).map((d) => d.message.id));
    expect(broker.stats('drop')?.ready).toBe(0);
  });

  it('dropConnection with downForMs: an outage rejects sends, delivers nothing, then resumes by itself', async () => {
    const clock = new TestClock();
    const transport = new MemoryTransport({ clock });
    const seen: number[] = [];
    await transport.consume('outage', async (d) => {
      seen.push(d.deliveryCount);
      if (seen.length > 1) await d.ack();
    });
    await transport.send('outage', [message()]);
    await settle();
    expect(seen).toEqual([1]);
    transport.dropConnection({ downForMs: 1_000 });
    expect(transport.connected).toBe(false);
    await expect(transport.send('outage', [message()])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
    await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    await settle();
    expect(seen).toEqual([1]);
    expect(transport.broker.stats('outage')?.ready).toBe(1);
    clock.advance(1_000);
    await settle();
    expect(transport.connected).toBe(true);
    expect(seen).toEqual([1, 2]);
    await expect(transport.ping()).resolves.toBeUndefined();
    await transport.close();
  });

  it('failSends makes the next N sends reject with SY_SEND_FAILED and stores nothing', async () => {
    const transport = new MemoryTransport();
    transport.failSends(2);
    await expect(transport.send('f', [message()])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
    await expect(transport.publish([{ ...message(), routingKey: 'x' }])).rejects.toMatchObject({
      code: ErrorCode.SendFailed,
    });
    expect(transport.broker.stats('f')?.ready ?? 0).toBe(0);
    await expect(transport.send('f', [message()])).resolves.toBeUndefined();
    expect(transport.broker.stats('f')?.ready).toBe(1);
  });

  it('duplicate (predicate) delivers a message twice', async () => {
    const victim = message();
    const transport = new MemoryTransport({ faults: { duplicate: (m, count) => m.id === victim.id && count === 1 } });
    const seen: string[] = [];
    await transport.consume('dup', async (d) => {
      seen.push(d.message.id);
      await d.ack();
    });
    const other = message();
    await transport.send('dup', [victim, other]);
    await settle();
    expect(seen.sort()).toEqual([victim.id, victim.id, other.id].sort());
  });

  it('duplicate (probability) and reorder are repeatable for a seed', async () => {
    const faults = { seed: 7, duplicate: 0.2, reorder: 4 };
    const first = await ackedOrder(faults, 100);
    const second = await ackedOrder(faults, 100);
    expect(first).toEqual(second);
    expect(first.length).toBeGreaterThan(100);
    expect(new Set(first).size).toBe(100);
    const inOrder = Array.from({ length: 100 }, (_, n) => `x${n}`);
    expect([...new Set(first)]).not.toEqual(inOrder);
    expect(await ackedOrder({ seed: 8, duplicate: 0.2, reorder: 4 }, 100)).not.toEqual(first);
  });

  it('deliveryDelayMs adds latency on the clock before each handler call', async () => {
    const clock = new TestClock();
    const transport = new MemoryTransport({ clock, faults: { deliveryDelayMs: 50 } });
    const seen: string[] = [];
    await transport.consume('slow', async (d) => {
      seen.push(d.message.id);
      await d.ack();
    });
    await transport.send('slow', [message()]);
    await settle();
    expect(seen).toEqual([]);
    clock.advance(50);
    await settle();
    expect(seen.length).toBe(1);
    transport.setFaults(undefined);
    await transport.send('slow', [message()]);
    await settle();
    expect(seen.length).toBe(2);
  });
});

describe('MemoryTransport throughput', () => {
  it('moves 100,000 messages through send, consume and ack quickly', async () => {
    const transport = new MemoryTransport();
    const total = 100_000;
    let acked = 0;
    await transport.consume(
      'fast',
      async (d) => {
        await d.ack();
        acked++;
      },
      { concurrency: 64 },
    );
    const body = encoder.encode('{"orderId":"o-1"}');
    const started = performance.now();
    for (let n = 0; n < total; n += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        id: `t${n + i}`,
        headers: { 'ce-id': `t${n + i}` },
        body,
      }));
      await transport.send('fast', batch);
    }
    while (acked < total) await new Promise((resolve) => setImmediate(resolve));
    const perSecond = Math.round(total / ((performance.now() - started) / 1000));
    console.info(`[memory transport] ${perSecond.toLocaleString('en')} msgs/s (send + deliver + ack)`);
    // A smoke bound, far below what an idle machine does, so a loaded CI box does not flake.
    expect(perSecond).toBeGreaterThan(50_000);
    await transport.close();
  });
});
