import type { DeadLetterStore } from '@switchyard/core';
import { brokerReachable, deadLetterRecord, runDeadLetterStoreConformance } from '@switchyard/testing';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { type RabbitMqDeadLetterStore, RabbitMqTransport, type RabbitMqTransportOptions } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);
const exchange = unique('sy-test-dlx');
const transports: RabbitMqTransport[] = [];
const queues: string[] = [];
const services = new WeakMap<DeadLetterStore, string>();

function storeOf(service: string, options: RabbitMqTransportOptions = {}): RabbitMqDeadLetterStore {
  // A new transport (a new connection) per store, as a new process would open it.
  const transport = new RabbitMqTransport({ url: RABBIT_URL, exchange, connectionName: unique('sy-dl'), ...options });
  transports.push(transport);
  const store = transport.deadLetterStore(service);
  queues.push(store.queue);
  services.set(store, service);
  return store;
}

afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  if (reachable) await deleteObjects(queues, [exchange, `${exchange}.delay`]);
});

describe.runIf(reachable)('RabbitMQ dead-letter store', () => {
  runDeadLetterStoreConformance('RabbitMqDeadLetterStore', {
    open: async () => storeOf(unique('svc')),
    reopen: async (store) => storeOf(services.get(store) as string),
  });

  it('keeps records as persistent messages in <exchange>.dead-letters.<service>, left in place by reads', async () => {
    const store = storeOf('queue-shape');
    expect(store.queue).toBe(`${exchange}.dead-letters.queue-shape`);
    const record = deadLetterRecord(1);
    await store.add(record);
    expect(await store.list()).toHaveLength(1);
    expect(await store.count()).toBe(1);
    const connection = await amqp.connect(RABBIT_URL);
    try {
      const channel = await connection.createChannel();
      const got = await channel.get(store.queue, { noAck: false });
      if (got === false) throw new Error('the dead-letter queue is empty');
      expect(got.properties.messageId).toBe(record.id);
      expect(got.properties.deliveryMode).toBe(2);
      await channel.close(); // unacked: back into the queue
    } finally {
      await connection.close();
    }
    expect(await store.get(record.id)).toEqual(record);
  });

  it('concurrent browsers from two connections take turns and both see every record', async () => {
    const a = storeOf('turns');
    const b = storeOf('turns');
    for (let n = 1; n <= 20; n++) await a.add(deadLetterRecord(n));
    const counts = await Promise.all([a.count(), b.count(), a.list(), b.list(), a.count(), b.count()]);
    expect(counts.map((value) => (typeof value === 'number' ? value : value.length))).toEqual([20, 20, 20, 20, 20, 20]);
  });

  it('retention: maxCount keeps the newest, maxAgeMs expires records on the broker', async () => {
    const counted = storeOf('retention-count', { deadLetterRetention: { maxCount: 2 } });
    const records = [1, 2, 3].map((n) => deadLetterRecord(n));
    for (const record of records) await counted.add(record);
    expect((await counted.list()).map((r) => r.id)).toEqual([records[1]?.id, records[2]?.id]);
    const aged = storeOf('retention-age', { deadLetterRetention: { maxAgeMs: 60_000 } });
    const now = Date.now();
    const old = deadLetterRecord(4, { deadLetteredAt: new Date(now - 120_000).toISOString() });
    const young = deadLetterRecord(5, { deadLetteredAt: new Date(now).toISOString() });
    await aged.add(old);
    await aged.add(young);
    expect((await aged.list()).map((r) => r.id)).toEqual([young.id]);
  });
});
