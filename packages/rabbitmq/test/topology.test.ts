import type { TransportMessage } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { brokerFixture, message, payloadOf, probeRabbit, RABBIT_NAME } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

describe.runIf(reachable)('RabbitMqTransport topology', () => {
  const { open, channel } = brokerFixture();

  it('fans events out by pattern and drops events nobody subscribed to', async () => {
    const transport = open();
    const [a, b, c] = [channel('a'), channel('b'), channel('c')];
    await transport.provision({
      channels: [
        { name: a, subscriptions: ['order.*'] },
        { name: b, subscriptions: ['order.#'] },
        { name: c, subscriptions: ['payment.*'] },
      ],
    });
    const routed = (key: string): TransportMessage & { routingKey: string } => ({
      ...message({ key }),
      routingKey: key,
    });
    await transport.publish([
      routed('order.placed'),
      routed('order.item.added'),
      routed('payment.done'),
      routed('nobody.cares'),
    ]);
    const got = new Map<string, string[]>([
      [a, []],
      [b, []],
      [c, []],
    ]);
    const subscriptions = await Promise.all(
      [a, b, c].map((name) =>
        transport.consume(name, async (delivery) => {
          got.get(name)?.push((payloadOf(delivery.message) as { key: string }).key);
          await delivery.ack();
        }),
      ),
    );
    await waitFor(() => got.get(a)?.length === 1 && got.get(b)?.length === 2 && got.get(c)?.length === 1, 'fan-out');
    expect(got.get(a)).toEqual(['order.placed']);
    expect(got.get(b)).toEqual(['order.placed', 'order.item.added']);
    expect(got.get(c)).toEqual(['payment.done']);
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  it('removes bindings no longer listed, even when another process bound them', async () => {
    const queue = channel('rebind');
    await open().provision({ channels: [{ name: queue, subscriptions: ['old.*', 'kept.*'] }] });
    const second = open();
    await second.provision({ channels: [{ name: queue, subscriptions: ['kept.*', 'new.*'] }] });
    await second.provision({ channels: [{ name: queue, subscriptions: ['kept.*', 'new.*'] }] });
    const routed = (key: string) => ({ ...message({ key }), routingKey: key });
    // One publisher channel keeps order, so 'old.x' would arrive before 'new.x' if still bound.
    await second.publish([routed('old.x'), routed('kept.x'), routed('new.x')]);
    const keys: string[] = [];
    const subscription = await second.consume(queue, async (delivery) => {
      keys.push((payloadOf(delivery.message) as { key: string }).key);
      await delivery.ack();
    });
    await waitFor(() => keys.includes('new.x'), 'new.x');
    expect(keys).toEqual(['kept.x', 'new.x']);
    await subscription.close();
  });

  it('serialises concurrent provisions of one channel across processes and still removes every stale binding', async () => {
    const queue = channel('race');
    const racers = Array.from({ length: 4 }, () => open());
    await Promise.all(
      racers.map((transport, i) => transport.provision({ channels: [{ name: queue, subscriptions: [`race${i}.*`] }] })),
    );
    const last = open();
    await last.provision({ channels: [{ name: queue, subscriptions: ['final.*'] }] });
    const routed = (key: string) => ({ ...message({ key }), routingKey: key });
    await last.publish([...racers.map((_, i) => routed(`race${i}.x`)), routed('final.x')]);
    const keys: string[] = [];
    const subscription = await last.consume(queue, async (delivery) => {
      keys.push((payloadOf(delivery.message) as { key: string }).key);
      await delivery.ack();
    });
    await waitFor(() => keys.includes('final.x'), 'final.x');
    expect(keys).toEqual(['final.x']);
    await subscription.close();
  });
});
