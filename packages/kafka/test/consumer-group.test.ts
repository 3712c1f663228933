import { waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture, message, text } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka: consumer group', () => {
  it('two transports on one channel share its partitions and handle each message once overall', async () => {
    const a = kafka.transport();
    const b = kafka.transport();
    const channel = unique('group');
    await a.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const handled = new Map<string, string[]>();
    const handler = (who: string) => async (delivery: import('@switchyard/core/transport').Delivery) => {
      const body = text(delivery.message.body);
      handled.set(body, [...(handled.get(body) ?? []), who]);
      await delivery.ack();
    };
    const subA = await a.consume(channel, handler('a'), { concurrency: 2 });
    const subB = await b.consume(channel, handler('b'), { concurrency: 2 });
    const total = 60;
    await a.send(
      channel,
      Array.from({ length: total }, (_, i) => message(`m${i}`, `m${i}`, { key: `key-${i}` })),
    );
    await waitFor(() => handled.size >= total, 'every message handled', 20_000);
    await subA.close();
    await subB.close();
    const byWho = { a: 0, b: 0 };
    for (const [body, who] of handled) {
      expect(who, `${body} handled by ${who.join(',')}`).toHaveLength(1);
      byWho[who[0] as 'a' | 'b']++;
    }
    expect(byWho.a + byWho.b).toBe(total);
    expect(byWho.a).toBeGreaterThan(0);
    expect(byWho.b).toBeGreaterThan(0);
  });

  it('a member joining mid-flow triggers a rebalance that loses nothing', async () => {
    const a = kafka.transport();
    const b = kafka.transport();
    const channel = unique('rebalance');
    await a.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const seenBy = { a: new Set<string>(), b: new Set<string>() };
    const handler = (who: 'a' | 'b') => async (delivery: import('@switchyard/core/transport').Delivery) => {
      // Slow enough that the rebalance happens while deliveries are in flight.
      await new Promise((resolve) => setTimeout(resolve, 20));
      seenBy[who].add(text(delivery.message.body));
      await delivery.ack();
    };
    const total = 200;
    const subA = await a.consume(channel, handler('a'), { concurrency: 4, prefetch: 16 });
    await a.send(
      channel,
      Array.from({ length: total }, (_, i) => message(`r${i}`, `r${i}`, { key: `key-${i % 8}` })),
    );
    await waitFor(() => seenBy.a.size >= 30, 'the first member under way', 15_000);
    const subB = await b.consume(channel, handler('b'), { concurrency: 4, prefetch: 16 });
    const all = () => new Set([...seenBy.a, ...seenBy.b]).size;
    await waitFor(
      () => all() === total,
      () => `every message handled once the group settled (have ${all()})`,
      30_000,
    );
    await subA.close();
    await subB.close();
    expect(seenBy.a.size).toBeLessThan(total);
  });
});
