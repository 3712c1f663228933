import { describe, expect, it } from 'vitest';
import { ClaimedDelivery, type ClaimSink, parseStoredHeaders, SETTLED } from './claimed-delivery.js';
import { FetchWaker } from './fetch-waker.js';
import { HandlerSlots } from './handler-slots.js';

/** A sink whose acks are write-behind (SETTLED) and whose nacks resolve or fail as told. */
function sink(options: { nackFails?: boolean } = {}) {
  const acked: number[] = [];
  const nacked: Array<[number, number]> = [];
  const s: ClaimSink<number> = {
    settleAck: (d) => {
      acked.push(d.seq);
      d.settled = true;
      return SETTLED;
    },
    settleNack: async (d, delayMs) => {
      if (options.nackFails) throw new Error('database gone');
      nacked.push([d.seq, delayMs]);
      d.settled = true;
    },
  };
  return { s, acked, nacked };
}

const delivery = (s: ClaimSink<number>, seq: number) =>
  new ClaimedDelivery(s, 'c', seq, 'owner', null, 1, { id: `m${seq}`, headers: {}, body: new Uint8Array() });

describe('ClaimedDelivery', () => {
  it('settles once: the first of ack or nack wins, a write-behind ack returns the shared SETTLED promise', async () => {
    const { s, acked, nacked } = sink();
    const d = delivery(s, 1);
    expect(d.ack()).toBe(SETTLED);
    await d.nack({ delayMs: 5 });
    expect(acked).toEqual([1]);
    expect(nacked).toEqual([]);
    const n = delivery(s, 2);
    await n.nack({ delayMs: -3 });
    await n.ack();
    expect(nacked).toEqual([[2, 0]]);
  });

  it('lets a failed settle be tried again', async () => {
    let fail = true;
    const s: ClaimSink<number> = {
      settleAck: () => (fail ? Promise.reject(new Error('down')) : Promise.resolve()),
      settleNack: () => Promise.resolve(),
    };
    const d = delivery(s, 1);
    await expect(d.ack()).rejects.toThrow('down');
    fail = false;
    await expect(d.ack()).resolves.toBeUndefined();
  });
});

describe('parseStoredHeaders', () => {
  it('keeps a JSON object of strings, drops non-string values, and yields no headers for garbage', () => {
    expect(parseStoredHeaders('{"a":"1","__proto__":"x"}')).toEqual(JSON.parse('{"a":"1","__proto__":"x"}'));
    expect(parseStoredHeaders('{"a":"1","b":2,"c":null}')).toEqual({ a: '1' });
    expect(parseStoredHeaders('not json')).toEqual({});
    expect(parseStoredHeaders('[1,2]')).toEqual({});
    expect(parseStoredHeaders('null')).toEqual({});
  });
});

describe('HandlerSlots', () => {
  it('runs at most `concurrency` handlers, and a slot frees only once its handler returned and its delivery settled', async () => {
    const { s } = sink();
    const release: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const slots: HandlerSlots<number> = new HandlerSlots(
      async (d) => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
        // Delivery 9 returns without settling.
        if ((d as ClaimedDelivery<number>).seq !== 9) await d.ack();
        slots.free(d as ClaimedDelivery<number>);
      },
      2,
      () => undefined,
    );
    const all = [1, 2, 3, 4, 5].map((seq) => delivery(s, seq));
    for (const d of all) slots.add(d);
    slots.pump();
    expect(release).toHaveLength(2);
    // An unsettled delivery whose handler returned keeps its slot.
    const unsettled = delivery(s, 9);
    while (all.some((d) => !d.freed)) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(most).toBe(2);
    slots.add(unsettled);
    slots.pump();
    release.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(unsettled.handlerDone).toBe(true);
    expect(unsettled.freed).toBe(false);
  });

  it('nacks a delivery whose handler threw, and hands a failed nack to onNackFailed', async () => {
    const failed: Array<[number, unknown]> = [];
    const ok = sink();
    const bad = sink({ nackFails: true });
    const slots = new HandlerSlots<number>(
      async () => {
        throw new Error('handler');
      },
      4,
      (d, error) => failed.push([d.seq, error]),
    );
    slots.add(delivery(ok.s, 1));
    slots.add(delivery(bad.s, 2));
    slots.pump();
    await slots.drain(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ok.nacked).toEqual([[1, 0]]);
    expect(failed.map(([seq, error]) => [seq, (error as Error).message])).toEqual([[2, 'database gone']]);
  });

  it('after stop starts nothing more; takeUnstarted returns what waited; drain waits for running handlers', async () => {
    const { s } = sink();
    let finish: () => void = () => undefined;
    const slots = new HandlerSlots<number>(
      (d) => new Promise<void>((resolve) => (finish = () => resolve(void d.ack()))),
      1,
      () => undefined,
    );
    slots.add(delivery(s, 1));
    slots.add(delivery(s, 2));
    slots.pump();
    slots.stop();
    let drained = false;
    const draining = slots.drain(5_000).then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    finish();
    await draining;
    expect(slots.takeUnstarted().map((d) => d.seq)).toEqual([2]);
  });
});

describe('FetchWaker', () => {
  it('a wake ends the current sleep or the next one; after stop every sleep resolves at once', async () => {
    const waker = new FetchWaker();
    const sleeping = waker.sleep(60_000);
    waker.wake();
    expect(await sleeping).toBe(true);
    waker.wake();
    expect(await waker.sleep(60_000)).toBe(true);
    expect(await waker.sleep(1)).toBe(false);
    waker.stop();
    expect(await waker.sleep(60_000)).toBe(true);
    expect(await waker.sleep(60_000)).toBe(true);
  });
});
