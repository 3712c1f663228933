import type { Delivery } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { testMessage, testMessages } from '../messages.js';
import { latch, stateAfter } from './assertions.js';

/** Watermill's concurrent subscribe, continue after subscriber close, subscribe cancellation; plus crash recovery. */
export const consumerScenarios: Scenario[] = [
  {
    name: 'competing-consumers',
    title: 'competing consumers: two transports on one channel handle each message exactly once in total',
    async run(t) {
      const first = await t.transport();
      const second = await t.transport();
      const channel = await t.channel(first, 'compete');
      const [a, b] = await Promise.all([
        t.collect(first, channel, { concurrency: 2 }),
        t.collect(second, channel, { concurrency: 2 }),
      ]);
      const messages = testMessages(t.count(200));
      await first.send(channel, messages);
      const ids = messages.map((m) => m.id);
      await waitFor(
        () => new Set([...a.ids, ...b.ids]).size === ids.length,
        'every message handled by one of the consumers',
        t.waitMs,
      );
      const all = [...a.ids, ...b.ids];
      expect(all.length, 'deliveries in total (a duplicate means two consumers got one message)').toBe(ids.length);
    },
  },
  {
    name: 'consume-later',
    title: 'messages sent with no consumer attached, or after a consumer closed, reach the next consumer',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'later');
      const early = testMessages(t.count(20));
      await transport.send(channel, early);
      const firstConsumer = await t.collect(transport, channel);
      await firstConsumer.waitForCount(1, t.waitMs);
      await firstConsumer.close();
      const late = testMessages(t.count(20));
      await transport.send(channel, late);
      const secondConsumer = await t.collect(transport, channel);
      const ids = [...early, ...late].map((m) => m.id);
      await waitFor(
        () => ids.every((id) => firstConsumer.countOf(id) + secondConsumer.countOf(id) > 0),
        'every message handled by the first or the second consumer',
        t.waitMs,
      );
    },
  },
  {
    name: 'resubscribe-repeatedly',
    title: 'continue after subscriber close: consumers opened and closed in turn together handle every message',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'resub');
      const messages = testMessages(t.count(100));
      await transport.send(channel, messages);
      const handled = new Set<string>();
      const settle = async (delivery: Delivery) => {
        await delivery.ack();
        handled.add(delivery.message.id);
      };
      for (let round = 0; round < 20 && handled.size < messages.length; round++) {
        const target = Math.min(messages.length, handled.size + Math.ceil(messages.length / 5));
        const consumer = await t.collect(transport, channel, { concurrency: 2, settle });
        await waitFor(() => handled.size >= target, `round ${round}: ${target} messages handled`, t.waitMs);
        await consumer.close();
      }
      expect(messages.filter((m) => !handled.has(m.id)).length, 'messages never handled').toBe(0);
    },
  },
  {
    name: 'unsettled-return-on-close',
    title: "unsettled deliveries come back when the consumer's transport closes (crash-ish); another consumer gets all",
    async run(t) {
      const crashing = await t.transport();
      const survivor = await t.transport();
      const channel = await t.channel(crashing, 'crash');
      const messages = testMessages(t.count(20));
      await crashing.send(channel, messages);
      const held = await t.collect(crashing, channel, { concurrency: 5, prefetch: 5, settle: 'none' });
      await held.waitForCount(1, t.waitMs);
      await crashing.close();
      const rescuer = await t.collect(survivor, channel, { concurrency: 5 });
      await rescuer.waitForIds(
        messages.map((m) => m.id),
        t.waitMs,
      );
      for (const { delivery } of held.received) {
        expect(rescuer.countOf(delivery.message.id), 'a delivery left unsettled is redelivered').toBeGreaterThan(0);
      }
    },
  },
  {
    name: 'close-drains',
    title: 'subscription close waits for the in-flight handler, then stops fetching',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'drain');
      const started = latch();
      const release = latch();
      t.defer(release.open);
      const events: string[] = [];
      const busy = await t.collect(transport, channel, {
        settle: async (delivery) => {
          started.open();
          await release.promise;
          await delivery.ack();
          events.push('acked');
        },
      });
      const first = testMessage({ seq: 1 });
      await transport.send(channel, [first]);
      await started.promise;
      const closing = busy.close({ drainTimeoutMs: 20_000 }).then(() => events.push('closed'));
      expect(await stateAfter(closing, 200), 'close resolved while a handler was still running').toBe('pending');
      release.open();
      await closing;
      expect(events).toEqual(['acked', 'closed']);

      const second = testMessage({ seq: 2 });
      await transport.send(channel, [second]);
      const next = await t.collect(transport, channel);
      await next.waitForIds([second.id], t.waitMs);
      expect(busy.received.length, 'deliveries to the closed subscription').toBe(1);
    },
  },
];
