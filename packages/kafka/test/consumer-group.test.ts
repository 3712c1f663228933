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
});
