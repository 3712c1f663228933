import type { Delivery } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyN, channelName, msg, sharedFileTransports, tempDir } from './helpers.js';

const tmp = tempDir();
const transport = sharedFileTransports(tmp);
afterAll(() => tmp.cleanup());

describe('SqliteTransport ordering and delay', () => {
  it('delivers messages of one key one at a time in send order, other keys in parallel', async () => {
    const t = transport();
    const ch = channelName();
    const messages = [];
    for (let i = 0; i < 60; i++) messages.push(msg(i, { key: `k${i % 3}` }));
    await t.send(ch, messages);
    const order: Record<string, number[]> = {};
    const active = new Set<string>();
    let overlap = false;
    let maxParallel = 0;
    let done = 0;
    await t.consume(
      ch,
      async (d) => {
        const key = d.message.key!;
        if (active.has(key)) overlap = true;
        active.add(key);
        maxParallel = Math.max(maxParallel, active.size);
        await new Promise((r) => setTimeout(r, 2));
        order[key] ??= [];
        order[key].push(bodyN(d.message.body) as number);
        active.delete(key);
        await d.ack();
        done++;
      },
      { concurrency: 8 },
    );
    await waitFor(() => done === 60, 'all keyed messages');
    expect(overlap).toBe(false);
    expect(maxParallel).toBeGreaterThan(1);
    for (const [key, ns] of Object.entries(order)) {
      expect(ns, key).toEqual([...ns].sort((x, y) => x - y));
    }
  });

  it('keeps per-key order across two competing transports on one file', async () => {
    const a = transport();
    const b = transport();
    const ch = channelName();
    const messages = [];
    for (let i = 0; i < 40; i++) messages.push(msg(i, { key: `k${i % 2}` }));
    await a.send(ch, messages);
    const active = new Set<string>();
    let overlap = false;
    const order: Array<{ key: string; n: number }> = [];
    const handler = async (d: Delivery) => {
      const key = d.message.key!;
      if (active.has(key)) overlap = true;
      active.add(key);
      await new Promise((r) => setTimeout(r, 1));
      order.push({ key, n: bodyN(d.message.body) as number });
      active.delete(key);
      await d.ack();
    };
    await a.consume(ch, handler, { concurrency: 4 });
    await b.consume(ch, handler, { concurrency: 4 });
    await waitFor(() => order.length === 40, 'all keyed messages');
    expect(overlap).toBe(false);
    for (const key of ['k0', 'k1']) {
      const ns = order.filter((o) => o.key === key).map((o) => o.n);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
  });

  it('keeps a key blocked while its head is nacked with a delay', async () => {
    const t = transport();
    const ch = channelName();
    await t.send(ch, [msg(1, { key: 'k' }), msg(2, { key: 'k' }), msg(3, { key: 'other' })]);
    const got: Array<number | string> = [];
    await t.consume(
      ch,
      async (d) => {
        const n = bodyN(d.message.body);
        got.push(n);
        if (n === 1 && d.deliveryCount === 1) await d.nack({ delayMs: 200 });
        else await d.ack();
      },
      { concurrency: 4 },
    );
    await waitFor(() => got.length === 4, 'four deliveries');
    expect(got.filter((n) => n !== 3)).toEqual([1, 1, 2]);
  });

  it('holds a message with deliverAt until it is due (native delay)', async () => {
    const t = transport();
    const ch = channelName();
    const sentAt = Date.now();
    await t.send(ch, [msg('late', { deliverAt: sentAt + 400 }), msg('now')]);
    const got: Array<{ n: number | string; at: number }> = [];
    await t.consume(ch, async (d) => {
      got.push({ n: bodyN(d.message.body), at: Date.now() });
      await d.ack();
    });
    await waitFor(() => got.length === 2, 'both messages');
    expect(got.map((g) => g.n)).toEqual(['now', 'late']);
    expect(got[1]!.at).toBeGreaterThanOrEqual(sentAt + 400);
    console.log(`[sqlite] a message delayed by 400 ms arrived ${got[1]!.at - sentAt - 400} ms late`);
    expect(got[1]!.at).toBeLessThan(sentAt + 400 + 1_000);
  });
});
