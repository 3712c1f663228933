import type { Delivery } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture, message, text } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka: commit after handle', () => {
  it('a consumer stopped midway leaves every unhandled message to the next one', async () => {
    const channel = unique('commit');
    const first = kafka.transport();
    await first.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const total = 20;
    await first.send(
      channel,
      Array.from({ length: total }, (_, i) => message(`m${i}`, String(i), { key: 'one-key' })),
    );
    const handledFirst: number[] = [];
    const stuck: Delivery[] = [];
    // Concurrency 3: messages 5 and 6 stay unsettled while 7 is acked, so the
    // commit must stop below 5 even though a later offset was acked.
    const sub = await first.consume(
      channel,
      async (delivery) => {
        const n = Number(text(delivery.message.body));
        if (n === 5 || n === 6) {
          stuck.push(delivery);
          return;
        }
        handledFirst.push(n);
        await delivery.ack();
      },
      { concurrency: 3, prefetch: 8 },
    );
    await waitFor(
      () => stuck.length === 2 && handledFirst.includes(7),
      'messages 0-4 and 7 handled, 5 and 6 stuck',
      15_000,
    );
    await sub.close({ drainTimeoutMs: 100 });
    await first.close();
    // The unsettled deliveries can no longer be settled for good.
    await expect(stuck[0]?.ack()).rejects.toMatchObject({ code: 'SY_CLOSED' });

    const second = kafka.transport();
    const handledSecond: number[] = [];
    const sub2 = await second.consume(channel, async (delivery) => {
      handledSecond.push(Number(text(delivery.message.body)));
      await delivery.ack();
    });
    await waitFor(() => handledSecond.includes(total - 1), 'the last message on the second consumer', 15_000);
    await sub2.close();
    expect(handledFirst.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    // Everything from the first unsettled offset on comes again, in order; nothing before it.
    expect(handledSecond).toEqual(Array.from({ length: total - 5 }, (_, i) => i + 5));
  });
});
