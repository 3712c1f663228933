import { waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture, message, text } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka: order per key', () => {
  it('keeps send order per key across 3 keys while handling with concurrency 4', async () => {
    const t = kafka.transport();
    const channel = unique('order');
    await t.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const keys = ['k0', 'k1', 'k2'];
    const perKey = 20;
    const messages = [];
    for (let i = 0; i < perKey; i++)
      for (const key of keys) messages.push(message(`${key}-${i}`, `${key}:${i}`, { key }));
    // Two sends, so order must also hold across batches.
    await t.send(channel, messages.slice(0, 30));
    await t.send(channel, messages.slice(30));
    const seen = new Map<string, number[]>(keys.map((k) => [k, []]));
    let running = 0;
    let maxRunning = 0;
    const sub = await t.consume(
      channel,
      async (delivery) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const [key, index] = text(delivery.message.body).split(':');
        expect(delivery.message.key).toBe(key);
        // Jitter so that out-of-order completion would show if lanes did not serialize a key.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        seen.get(key ?? '')?.push(Number(index));
        running--;
        await delivery.ack();
      },
      { concurrency: 4 },
    );
    await waitFor(() => [...seen.values()].every((list) => list.length >= perKey), 'all messages', 20_000);
    await sub.close();
    for (const list of seen.values()) expect(list).toEqual([...Array(perKey).keys()]);
    // Keys spread over partitions and run in parallel lanes (at most one per key).
    expect(maxRunning).toBeGreaterThanOrEqual(1);
    expect(maxRunning).toBeLessThanOrEqual(3);
  });

  it('keeps the order of issue per key for single-message sends issued at once, as core sends', async () => {
    const t = kafka.transport();
    const channel = unique('order-burst');
    await t.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const keys = ['k0', 'k1', 'k2', 'k3'];
    const perKey = 60;
    // Three bursts, each awaited: the transport merges a burst into shared produce requests.
    for (let burst = 0; burst < 3; burst++) {
      const sends = [];
      for (let i = burst * 20; i < (burst + 1) * 20; i++)
        for (const key of keys) sends.push(t.send(channel, [message(`${key}-${i}`, `${key}:${i}`, { key })]));
      await Promise.all(sends);
    }
    const seen = new Map<string, number[]>(keys.map((k) => [k, []]));
    const sub = await t.consume(
      channel,
      async (delivery) => {
        const [key, index] = text(delivery.message.body).split(':');
        seen.get(key ?? '')?.push(Number(index));
        await delivery.ack();
      },
      { concurrency: 8 },
    );
    await waitFor(() => [...seen.values()].every((list) => list.length >= perKey), 'all messages', 20_000);
    await sub.close();
    for (const list of seen.values()) expect(list).toEqual([...Array(perKey).keys()]);
  });
});
