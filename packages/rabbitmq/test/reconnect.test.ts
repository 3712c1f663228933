import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, dropConnections, message, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

describe.runIf(reachable)('RabbitMqTransport reconnect', () => {
  const prefix = unique('sy-reconnect');
  const exchange = unique('sy-test-x');
  const queue = unique('reconnect');
  const options = {
    url: RABBIT_URL,
    exchange,
    connectionName: `${prefix}-conn`,
    reconnect: { initialDelayMs: 20, maxDelayMs: 500 },
  };
  const producer = new RabbitMqTransport(options);
  const consumer = new RabbitMqTransport(options);

  afterAll(async () => {
    await Promise.all([producer.close(), consumer.close()]);
    await deleteObjects([queue], [exchange, `${exchange}.delay`]);
  });

  it('delivers every one of 10,000 messages while all connections are force-closed twice', async () => {
    const total = 10_000;
    const batch = 250;
    const seen = new Set<string>();
    let deliveries = 0;
    const subscription = await consumer.consume(
      queue,
      async (delivery) => {
        deliveries++;
        seen.add(delivery.message.id);
        // A little work per message keeps unacked deliveries around when the connection drops.
        await new Promise((resolve) => setTimeout(resolve, 1));
        await delivery.ack();
      },
      { concurrency: 8, prefetch: 200 },
    );
    // The first drop is fired as sending starts and lands while batches are unconfirmed; the second
    // lands while the (deliberately slower) consumer still has a backlog of unacked deliveries.
    const drops = dropConnections(prefix).then(async (first) => [first, await dropConnections(prefix)]);
    const inFlight = new Set<Promise<void>>();
    for (let sent = 0; sent < total; sent += batch) {
      if (inFlight.size >= 4) await Promise.race(inFlight);
      const sending = producer.send(
        queue,
        Array.from({ length: batch }, (_, i) => message({ n: sent + i })),
      );
      inFlight.add(sending);
      void sending.then(
        () => inFlight.delete(sending),
        () => undefined,
      );
    }
    await Promise.all(inFlight);
    const closed = await drops;
    // Both transports were connected at each drop: two connections closed each time.
    for (const count of closed) if (!Number.isNaN(count)) expect(count).toBe(2);
    await waitFor(() => seen.size === total, `${total} distinct messages (have ${seen.size})`, 60_000);
    expect(seen.size).toBe(total);
    // Redeliveries after a drop are allowed (at-least-once); losses are not.
    expect(deliveries).toBeGreaterThanOrEqual(total);
    await subscription.close();
  });
});
