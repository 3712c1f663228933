import { createService, type DeadLetterRecord, defineEvent } from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

/**
 * Versioned contracts across a real broker: an old producer publishes version
 * 1 of an event, a consumer built on version 2 receives it upcast; a version-2
 * message carries `ce-dataschema` and arrives unchanged; without an upcaster
 * the old message is dead-lettered with the reason.
 */
describe.runIf(reachable)('contract versions over RabbitMQ', () => {
  const exchange = unique('sy-test-versions');
  const prefix = unique('versions');
  const name = `${prefix}.placed`;
  const V1 = defineEvent(name, z.object({ orderId: z.string(), total: z.number() }));
  const v2Schema = z.object({ orderId: z.string(), total: z.object({ amount: z.number(), currency: z.string() }) });
  const V2 = defineEvent(name, v2Schema, {
    version: 2,
    upcast: { 1: (v1) => ({ ...(v1 as object), total: { amount: (v1 as { total: number }).total, currency: 'EUR' } }) },
  });
  const V2Strict = defineEvent(name, v2Schema, { version: 2 });
  const producerName = `${prefix}-producer`;
  const consumerName = `${prefix}-consumer`;
  const strictName = `${prefix}-strict`;
  const channels = [producerName, consumerName, strictName];
  afterAll(() => deleteObjects([...channels, ...channels.map((c) => `${exchange}.topology.${c}`)], [exchange]));

  it('a v2 handler receives v1 messages upcast, v2 messages as sent, and dead-letters v1 without an upcaster', async () => {
    const transports = [0, 1, 2].map(() => new RabbitMqTransport({ url: RABBIT_URL, exchange }));
    const [a, b, c] = transports as [RabbitMqTransport, RabbitMqTransport, RabbitMqTransport];
    const producer = createService({ name: producerName, transport: a, handleSignals: false });
    const consumer = createService({ name: consumerName, transport: b, handleSignals: false });
    const strict = createService({ name: strictName, transport: c, handleSignals: false });
    const received: Array<{ payload: unknown; dataSchema: string | undefined }> = [];
    consumer.handle(V2, (event, ctx) => void received.push({ payload: event, dataSchema: ctx.headers.dataSchema }), {
      distributed: true,
    });
    const strictSeen: unknown[] = [];
    const deadLetters: DeadLetterRecord[] = [];
    strict.handle(V2Strict, (event) => void strictSeen.push(event), { distributed: true });
    strict.on('deadLettered', ({ record }) => void deadLetters.push(record));
    await consumer.start();
    await strict.start();
    await producer.start();
    try {
      await producer.distributedBus.publishEvent(V1, { orderId: 'o-1', total: 12.5 });
      await producer.distributedBus.publishEvent(V2, { orderId: 'o-2', total: { amount: 3, currency: 'USD' } });
      await waitFor(
        () => received.length === 2,
        () => `2 events at the v2 consumer, got ${received.length}`,
        15_000,
      );
      await waitFor(
        () => strictSeen.length === 1 && deadLetters.length === 1,
        'the strict consumer to settle both',
        15_000,
      );
      const byOrder = Object.fromEntries(received.map((r) => [(r.payload as { orderId: string }).orderId, r]));
      expect(byOrder['o-1']).toEqual({
        payload: { orderId: 'o-1', total: { amount: 12.5, currency: 'EUR' } },
        dataSchema: undefined,
      });
      expect(byOrder['o-2']).toEqual({
        payload: { orderId: 'o-2', total: { amount: 3, currency: 'USD' } },
        dataSchema: `urn:switchyard:${name}:v2`,
      });
      expect(strictSeen).toEqual([{ orderId: 'o-2', total: { amount: 3, currency: 'USD' } }]);
      expect(deadLetters[0]?.reason.message).toMatch(/version 1.*version 2.*no upcast\[1\]/);
    } finally {
      await producer.stop();
      await consumer.stop();
      await strict.stop();
      await Promise.all(transports.map((t) => t.close()));
    }
  });
});
