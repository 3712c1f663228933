import { brokerReachable, collect, seqOf, testEvent, testMessage, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

const KEYS = ['k-a', 'k-b', 'k-c', 'k-d'];
const PER_KEY = 25;

function orderByKey(received: { delivery: { message: { key?: string } & Parameters<typeof seqOf>[0] } }[]) {
  const order = new Map<string, number[]>(KEYS.map((key) => [key, []]));
  for (const { delivery } of received) order.get(delivery.message.key ?? '')?.push(seqOf(delivery.message));
  return order;
}

describe.runIf(reachable)('sqs: FIFO ordering per message group', () => {
  it('messages of one key are handled in send order even with concurrency 8 and slow handlers', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), fifo: true });
    try {
      const channel = `fifo-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      let running = 0;
      let maxRunning = 0;
      // Recorded when a handler finishes: a key's next message must not start before the previous one ended.
      const finished: { key: string; seq: number }[] = [];
      const inbox = await collect(transport, channel, {
        concurrency: 8,
        settle: async (delivery) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          // Uneven handler times would reorder a key's messages if groups were not serialized.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
          finished.push({ key: delivery.message.key ?? '', seq: seqOf(delivery.message) });
          running--;
          await delivery.ack();
        },
      });
      const messages = Array.from({ length: PER_KEY * KEYS.length }, (_, n) =>
        testMessage({ key: KEYS[n % KEYS.length]!, seq: Math.floor(n / KEYS.length) }),
      );
      for (let start = 0; start < messages.length; start += 20) {
        await transport.send(channel, messages.slice(start, start + 20));
      }
      await inbox.waitForIds(messages.map((m) => m.id));
      await waitFor(() => finished.length >= messages.length, 'every handler to finish');
      const expected = Array.from({ length: PER_KEY }, (_, n) => n);
      for (const key of KEYS) {
        expect(
          finished.filter((f) => f.key === key).map((f) => f.seq),
          `order of ${key}`,
        ).toEqual(expected);
      }
      expect(maxRunning, 'different keys ran in parallel').toBeGreaterThan(1);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });

  it('events published through the FIFO topic keep per-key order; a re-sent message id is deduplicated', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), fifo: true, topicName: `fifo-${suffix()}` });
    try {
      const channel = `fifo-evt-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: ['stock.#'] }] });
      const inbox = await collect(transport, channel, { concurrency: 4 });
      const events = Array.from({ length: 40 }, (_, n) =>
        testEvent('stock.changed', { key: KEYS[n % 2]!, seq: Math.floor(n / 2) }),
      );
      await transport.publish(events);
      await transport.publish([events[0]!]);
      const barrier = testEvent('stock.done', { key: KEYS[0]! });
      await transport.publish([barrier]);
      await inbox.waitForIds([...events.map((e) => e.id), barrier.id]);
      const order = orderByKey(inbox.received.filter((r) => r.delivery.message.id !== barrier.id));
      const expected = Array.from({ length: 20 }, (_, n) => n);
      expect(order.get(KEYS[0]!)).toEqual(expected);
      expect(order.get(KEYS[1]!)).toEqual(expected);
      expect(inbox.countOf(events[0]!.id), 'broker-side dedup of the same message').toBe(1);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });
});
