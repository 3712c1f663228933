import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { delivery, message, receiverParts, registration, TEST_CAPABILITIES } from '../../test/stage-fixtures.js';
import { defineCommand } from '../contracts/contract.js';
import { InMemoryDeadLetterStore } from '../resilience/memory-stores.js';
import { createService } from '../service/service.js';
import type { Delivery, DeliveryHandler, Transport, TransportMessage } from '../transport/types.js';
import { Receiver } from './receiver.js';
import type { HandlerRun, Stage } from './stages/pipeline.js';

const Ping = defineCommand('test.ping', z.object({ n: z.number() }));

/**
 * A transport whose ack hands the next stored message to the handler before
 * returning, as a consumer does when an ack frees a concurrency slot and its
 * pool starts the next delivery at once (the Redis transport does this).
 */
function slotTransport() {
  const stored: TransportMessage[] = [];
  let handler: DeliveryHandler | undefined;
  const counts = { acked: 0, nacked: 0 };
  let next = 0;
  const deliverNext = () => {
    const message = stored[next++];
    if (message === undefined || handler === undefined) return;
    const delivery: Delivery = {
      message,
      channel: 'ping-service',
      deliveryCount: 1,
      ack: () => {
        counts.acked++;
        deliverNext();
        return Promise.resolve();
      },
      nack: () => {
        counts.nacked++;
        deliverNext();
        return Promise.resolve();
      },
    };
    void handler(delivery);
  };
  const transport: Transport = {
    name: 'slots',
    capabilities: TEST_CAPABILITIES,
    provision: async () => undefined,
    send: async (_channel, messages) => {
      stored.push(...messages);
    },
    publish: async () => undefined,
    consume: async (_channel, consumer) => {
      handler = consumer;
      return { close: async () => undefined };
    },
    ping: async () => undefined,
    close: async () => undefined,
    deadLetterStore: () => new InMemoryDeadLetterStore(),
  };
  return { transport, stored, counts, deliverNext };
}

describe('Receiver', () => {
  it('never acks inside its own call: a transport that starts the next delivery from ack does not recurse', async () => {
    const slots = slotTransport();
    const sender = createService({ name: 'sender', transport: slots.transport, handleSignals: false });
    const receiver = createService({ name: 'ping-service', transport: slots.transport, handleSignals: false });
    let handled = 0;
    receiver.handle(Ping, () => void handled++, { distributed: true });
    await receiver.start();
    const total = 30_000;
    for (let n = 0; n < total; n++) await sender.distributedBus.sendCommand('ping-service', Ping, { n });
    expect(slots.stored).toHaveLength(total);
    slots.deliverNext();
    await expect.poll(() => slots.counts.acked, { timeout: 10_000 }).toBe(total);
    // Recursing once per delivery overflows the stack long before 30,000: those would have been nacked.
    expect(slots.counts.nacked).toBe(0);
    expect(handled).toBe(total);
    await receiver.stop();
  });
});

describe('Receiver interceptors', () => {
  it('plugs extra stages in: a handler interceptor wraps each run and sees its outcome', async () => {
    const seen: string[] = [];
    const span: Stage<HandlerRun> = {
      name: 'span',
      wrap: (next) => (run) => {
        seen.push(`start ${run.handler.id}`);
        const step = next(run);
        const end = () => void seen.push(`end ${run.handler.id} ${run.outcome}`);
        if (step === undefined) return end();
        return step.then(end);
      },
    };
    const { registry } = registration(async () => undefined);
    const receiver = new Receiver(receiverParts(registry, { interceptors: { handler: [span] } }));
    const first = delivery(message());
    await receiver.handle(first);
    await receiver.handle(delivery(first.message, 2));
    expect(seen).toEqual(['start test.ping', 'end test.ping handled', 'start test.ping', 'end test.ping duplicate']);
    expect(first.settled).toEqual(['ack']);
  });
});
