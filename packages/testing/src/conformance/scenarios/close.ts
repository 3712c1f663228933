import { type Delivery, ErrorCode } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Collector } from '../collect.js';
import type { Scenario } from '../harness.js';
import { testEvent, testMessage, testMessages } from '../messages.js';
import { expectCode, tick } from './assertions.js';

/** Watermill's concurrent close and publisher close; plus close idempotency. */
export const closeScenarios: Scenario[] = [
  {
    name: 'concurrent-close',
    title: 'closing the transport while consumers are busy loses nothing: a fresh consumer finishes the rest',
    async run(t) {
      const busy = await t.transport();
      const fresh = await t.transport();
      const channel = await t.channel(busy, 'cclose');
      const messages = testMessages(t.count(100));
      const acked = new Set<string>();
      const settle = async (delivery: Delivery) => {
        await tick();
        await delivery.ack();
        acked.add(delivery.message.id);
      };
      await busy.send(channel, messages);
      await Promise.all([
        t.collect(busy, channel, { concurrency: 3, settle }),
        t.collect(busy, channel, { concurrency: 3, settle }),
      ]);
      await waitFor(() => acked.size >= messages.length / 4, 'a quarter of the messages handled', t.waitMs);
      await busy.close();
      await t.collect(fresh, channel, { concurrency: 4, settle });
      await waitFor(
        () => messages.every((m) => acked.has(m.id)),
        `every message acked by some consumer (have ${acked.size})`,
        t.waitMs,
      );
    },
  },
  {
    name: 'publisher-close-in-flight',
    title: 'publisher close with sends in flight: every send resolves (and is delivered) or rejects',
    async run(t) {
      const publisher = await t.transport();
      const reader = await t.transport();
      const channel = await t.channel(publisher, 'pclose');
      const warmup = testMessage();
      await publisher.send(channel, [warmup]);
      const messages = testMessages(t.count(100));
      const racing = testMessages(t.count(20));
      const attempt = (message: (typeof messages)[number]) =>
        publisher.send(channel, [message]).then(
          () => ({ id: message.id, ok: true as const }),
          (error: unknown) => ({ id: message.id, ok: false as const, error }),
        );
      const outcomes = messages.map(attempt);
      const closing = publisher.close();
      // Sent while the close is under way: each must reject or be delivered, like the ones before.
      outcomes.push(...racing.map(attempt));
      const settled = await Promise.all(outcomes);
      await closing;
      for (const outcome of settled) {
        if (!outcome.ok)
          expectCode(outcome.error, [ErrorCode.Closed, ErrorCode.SendFailed, ErrorCode.TransportUnavailable]);
      }
      const resolved = settled.filter((o) => o.ok).map((o) => o.id);
      const inbox: Collector = await t.collect(reader, channel, { concurrency: 4 });
      await inbox.waitForIds([warmup.id, ...resolved], t.waitMs);
    },
  },
  {
    name: 'close-idempotent',
    title: 'close is idempotent; send and publish after close reject with SY_CLOSED',
    async run(t) {
      const unused = await t.transport();
      await unused.close();
      await unused.close();
      const transport = await t.transport();
      const channel = await t.channel(transport, 'closed');
      await transport.send(channel, [testMessage()]);
      await Promise.all([transport.close(), transport.close()]);
      await transport.close();
      const sendError = await transport.send(channel, [testMessage()]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(sendError, 'send after close must reject').toBeDefined();
      expectCode(sendError, [ErrorCode.Closed]);
      const publishError = await transport.publish([testEvent('conformance.closed')]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(publishError, 'publish after close must reject').toBeDefined();
      expectCode(publishError, [ErrorCode.Closed]);
    },
  },
];
