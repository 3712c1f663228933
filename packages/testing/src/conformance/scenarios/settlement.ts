import type { Delivery } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { testMessage, testMessages } from '../messages.js';
import { latch, pause } from './assertions.js';

const NACK_DELAY_MS = 600;

/** Watermill's resend on nack, continue after errors, no-ack backpressure; plus ack/nack exclusivity. */
export const settlementScenarios: Scenario[] = [
  {
    name: 'nack-redelivers',
    title: 'nack: the message is redelivered, with a growing delivery count where the broker knows it',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'nack');
      const message = testMessage();
      const inbox = await t.collect(transport, channel, {
        settle: (delivery) => (delivery.deliveryCount === 1 && inboxCount() === 1 ? delivery.nack() : delivery.ack()),
      });
      const inboxCount = () => inbox.received.length;
      await transport.send(channel, [message]);
      await inbox.waitForCount(2, t.waitMs);
      const [first, second] = inbox.received;
      expect(first!.delivery.message.id).toBe(message.id);
      expect(second!.delivery.message.id).toBe(message.id);
      expect(first!.delivery.deliveryCount).toBe(1);
      const count = second!.delivery.deliveryCount;
      expect(count === 1 || count > first!.delivery.deliveryCount, `second deliveryCount ${count}`).toBe(true);
    },
  },
  {
    name: 'nack-delay',
    title: 'nack with delayMs: not redelivered before the delay, other messages not held up',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'nackdelay');
      const delayed = testMessage({ seq: 1 });
      const other = testMessage({ seq: 2 });
      let nackedAt = 0;
      const inbox = await t.collect(transport, channel, {
        concurrency: 2,
        settle: async (delivery) => {
          if (delivery.message.id === delayed.id && nackedAt === 0) {
            nackedAt = Date.now();
            await delivery.nack({ delayMs: NACK_DELAY_MS });
            await transport.send(channel, [other]);
          } else await delivery.ack();
        },
      });
      await transport.send(channel, [delayed]);
      await waitFor(
        () => inbox.countOf(delayed.id) >= 2 && inbox.countOf(other.id) >= 1,
        'redelivery',
        t.waitMs + NACK_DELAY_MS,
      );
      const redelivery = inbox.deliveriesOf(delayed.id)[1]!;
      if (t.capabilities.delayedDelivery === 'native') {
        const slack = t.options.delaySlackMs ?? 100;
        expect(redelivery.receivedAt - nackedAt, 'ms between nack and redelivery').toBeGreaterThanOrEqual(
          NACK_DELAY_MS - slack,
        );
        const otherAt = inbox.deliveriesOf(other.id)[0]!.receivedAt;
        expect(otherAt, 'a message sent after the delayed nack is not held behind it').toBeLessThanOrEqual(
          redelivery.receivedAt,
        );
      }
    },
  },
  {
    name: 'handler-rejects',
    title: 'handler rejects without settling: the transport nacks and the messages come back (continue after errors)',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'errors');
      const messages = testMessages(t.count(10));
      const failed = new Set<string>();
      const inbox = await t.collect(transport, channel, {
        concurrency: 3,
        settle: async (delivery) => {
          if (!failed.has(delivery.message.id)) {
            failed.add(delivery.message.id);
            throw new Error('handler failure (conformance test)');
          }
          await delivery.ack();
        },
      });
      await transport.send(channel, messages);
      await waitFor(
        () => messages.every((m) => inbox.countOf(m.id) >= 2),
        'every message delivered again after its handler failed',
        t.waitMs,
      );
    },
  },
  {
    name: 'settle-exclusive',
    title: 'ack and nack are idempotent and mutually exclusive: no redelivery after ack, nack after ack is a no-op',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'settle');
      const acked = testMessage({ seq: 1 });
      const nacked = testMessage({ seq: 2 });
      const barrier = testMessage({ seq: 3 });
      const outcomes: Array<Promise<void>> = [];
      const inbox = await t.collect(transport, channel, {
        settle: async (delivery: Delivery) => {
          if (delivery.message.id === acked.id) {
            await delivery.ack();
            outcomes.push(delivery.ack(), delivery.nack());
          } else if (delivery.message.id === nacked.id && inbox.countOf(nacked.id) === 1) {
            await delivery.nack();
            outcomes.push(delivery.ack(), delivery.nack());
          } else await delivery.ack();
        },
      });
      await transport.send(channel, [acked, nacked]);
      await waitFor(() => inbox.countOf(nacked.id) >= 2, 'redelivery of the nacked message', t.waitMs);
      await transport.send(channel, [barrier]);
      await inbox.waitForIds([barrier.id], t.waitMs);
      await Promise.all(outcomes);
      expect(inbox.countOf(acked.id), 'deliveries of the acked message').toBe(1);
    },
  },
  {
    name: 'backpressure',
    title: 'no-ack backpressure: with concurrency = prefetch = N, at most N unsettled deliveries until some are acked',
    async run(t) {
      const limit = 4;
      const transport = await t.transport();
      const channel = await t.channel(transport, 'noack');
      const messages = testMessages(limit * 5);
      const release = latch();
      t.defer(release.open);
      let unsettled = 0;
      let maxUnsettled = 0;
      const inbox = await t.collect(transport, channel, {
        concurrency: limit,
        prefetch: limit,
        settle: async (delivery) => {
          unsettled++;
          maxUnsettled = Math.max(maxUnsettled, unsettled);
          await release.promise;
          unsettled--;
          await delivery.ack();
        },
      });
      await transport.send(channel, messages);
      await inbox.waitForCount(limit, t.waitMs);
      // A negative check needs a window: give a misbehaving transport time to over-deliver.
      await pause(300);
      expect(inbox.received.length, 'deliveries while none was settled').toBe(limit);
      release.open();
      await inbox.waitForIds(
        messages.map((m) => m.id),
        t.waitMs,
      );
      expect(maxUnsettled).toBeLessThanOrEqual(limit);
    },
  },
];
