import { expect } from 'vitest';
import type { Scenario } from '../harness.js';
import { seqOf, testMessage, testMessages } from '../messages.js';

const DELAY_MS = 800;

/** Delayed delivery (native or emulated) and Watermill's publish/subscribe in order, per key. */
export const delayOrderScenarios: Scenario[] = [
  {
    name: 'delayed-delivery',
    title:
      'delayed delivery: a future deliverAt is honoured (native) or carried in ce-deliverat (emulated); a due one arrives',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'delay');
      const inbox = await t.collect(transport, channel, { concurrency: 2 });
      // Due times taken once the consumer is attached: subscribing can take seconds (a Kafka group join), and a
      // deliverAt already past by then would let the "not before deliverAt" check below pass whatever the transport does.
      const now = Date.now();
      const later = testMessage({ seq: 1, deliverAt: now + DELAY_MS });
      const due = testMessage({ seq: 2, deliverAt: now - 1_000 });
      await transport.send(channel, [later, due]);
      const sentAt = Date.now();
      await inbox.waitForIds([due.id, later.id], t.waitMs + DELAY_MS);
      const laterEntry = inbox.deliveriesOf(later.id)[0]!;
      expect(laterEntry.delivery.message.headers['ce-deliverat']).toBe(later.headers['ce-deliverat']);
      if (t.capabilities.delayedDelivery === 'native') {
        const slack = t.options.delaySlackMs ?? 100;
        // The check below means something only while the message was still due in the future once sent.
        expect(sentAt, 'the send resolved after deliverAt: nothing left to delay').toBeLessThan(now + DELAY_MS - slack);
        // Measured against the message's own deliverAt (a broker may round the delay up, as SQS does to whole seconds).
        expect(laterEntry.receivedAt, 'delivered before deliverAt').toBeGreaterThanOrEqual(now + DELAY_MS - slack);
      }
    },
  },
  {
    name: 'delay-no-head-of-line',
    title: 'a delayed message does not hold up due messages sent after it on the same channel',
    skipWhen: (capabilities) =>
      capabilities.delayedDelivery === 'native' ? undefined : 'delay is emulated: core holds early deliveries',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'hol');
      const due = testMessages(5);
      const inbox = await t.collect(transport, channel, { concurrency: 1 });
      // Due time taken once the consumer is attached: subscribing can take seconds (a Kafka group join), and a
      // message already due when sent would rightly arrive with the others.
      const later = testMessage({ seq: 1, deliverAt: Date.now() + DELAY_MS * 4 });
      await transport.send(channel, [later]);
      await transport.send(channel, due);
      await inbox.waitForIds(
        due.map((m) => m.id),
        t.waitMs,
      );
      expect(inbox.countOf(later.id), 'the delayed message arrived with the due ones').toBe(0);
    },
  },
  {
    name: 'order-per-key',
    title: 'order per key: 3 keys interleaved, each key delivered in send order to a consumer with concurrency 1',
    skipWhen: (capabilities) => (capabilities.orderingPerKey ? undefined : 'transport has no per-key ordering'),
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'order');
      const perKey = t.count(30);
      const keys = ['key-a', 'key-b', 'key-c'];
      const messages = Array.from({ length: perKey * keys.length }, (_, n) =>
        testMessage({ key: keys[n % keys.length]!, seq: Math.floor(n / keys.length) }),
      );
      const inbox = await t.collect(transport, channel, { concurrency: 1 });
      for (let start = 0; start < messages.length; start += 9) {
        await transport.send(channel, messages.slice(start, start + 9));
      }
      await inbox.waitForIds(
        messages.map((m) => m.id),
        t.waitMs,
      );
      const seen = new Set<string>();
      const order = new Map<string, number[]>(keys.map((key) => [key, []]));
      for (const { delivery } of inbox.received) {
        if (seen.has(delivery.message.id)) continue;
        seen.add(delivery.message.id);
        order.get(delivery.message.key ?? '')?.push(seqOf(delivery.message));
      }
      const expected = Array.from({ length: perKey }, (_, n) => n);
      for (const key of keys) expect(order.get(key), `order of key ${key}`).toEqual(expected);
    },
  },
];
