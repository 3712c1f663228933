import { waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture, message, text } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka: delay topic', () => {
  it('holds a delayed send until due without blocking the channel, and delays a nack', async () => {
    const t = kafka.transport();
    const channel = unique('delay');
    await t.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const got: { body: string; at: number; count: number }[] = [];
    let nacked = false;
    const sub = await t.consume(
      channel,
      async (delivery) => {
        const body = text(delivery.message.body);
        got.push({ body, at: Date.now(), count: delivery.deliveryCount });
        if (body === 'retry-me' && !nacked) {
          nacked = true;
          await delivery.nack({ delayMs: 800 });
          return;
        }
        await delivery.ack();
      },
      { concurrency: 2 },
    );
    const dueAt = Date.now() + 1500;
    await t.send(channel, [message('late', 'late', { deliverAt: dueAt, key: 'k' })]);
    await t.send(channel, [message('now', 'now', { key: 'k' }), message('retry', 'retry-me')]);
    await waitFor(
      () => got.some((g) => g.body === 'late') && got.filter((g) => g.body === 'retry-me').length === 2,
      'late and retried messages',
      15_000,
    );
    await sub.close();
    const late = got.find((g) => g.body === 'late');
    const now = got.find((g) => g.body === 'now');
    expect(now && late && now.at < late.at).toBe(true);
    expect(late?.at).toBeGreaterThanOrEqual(dueAt);
    const retries = got.filter((g) => g.body === 'retry-me');
    expect(retries.map((r) => r.count)).toEqual([1, 2]);
    expect((retries[1]?.at ?? 0) - (retries[0]?.at ?? 0)).toBeGreaterThanOrEqual(800);
  });

  it('forwards a delayed event into the channel when due', async () => {
    const t = kafka.transport();
    const channel = unique('delayev');
    const pattern = `${channel}.*`;
    await t.provision({ channels: [{ name: channel, subscriptions: [pattern] }] });
    const got: { body: string; at: number }[] = [];
    const sub = await t.consume(channel, async (delivery) => {
      got.push({ body: text(delivery.message.body), at: Date.now() });
      await delivery.ack();
    });
    const dueAt = Date.now() + 1000;
    await t.publish([{ ...message('ev', 'ev', { deliverAt: dueAt }), routingKey: `${channel}.happened` }]);
    await waitFor(() => got.length === 1, 'the delayed event', 15_000);
    await sub.close();
    expect(got[0]?.at).toBeGreaterThanOrEqual(dueAt);
  });
});
