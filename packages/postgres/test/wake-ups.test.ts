import { randomUUID } from 'node:crypto';
import type { TransportMessage } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

/**
 * What brings a consumer back when its channel is drained and no NOTIFY comes: the next row of a
 * key once its head is acked, a nacked row once its delay passed, a delayed row once due. The
 * fallback poll is a minute, so only the consumer's own bookkeeping can explain a prompt delivery.
 */
describe.runIf(reachable)('PostgreSQL consumer on a drained channel', () => {
  const pool = testPool();
  const schema = uniqueSchema('wakeups');
  const transports: PostgresTransport[] = [];
  const open = (listen = true) => {
    const transport = new PostgresTransport({
      connectionString: POSTGRES_URL,
      schema,
      poolSize: 2,
      pollIntervalMs: 60_000,
      listen,
    });
    transports.push(transport);
    return transport;
  };
  const message = (extra: Partial<TransportMessage> = {}): TransportMessage => ({
    id: randomUUID(),
    headers: {},
    body: new Uint8Array([1]),
    ...extra,
  });
  /** Consume `channel`, acking every delivery, but hold the first one until `release` is called. */
  const holdFirst = async (transport: PostgresTransport, channel: string) => {
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const subscription = await transport.consume(channel, async (delivery) => {
      handled.push(delivery.message.id);
      if (handled.length === 1) await gate;
      await delivery.ack();
    });
    return { handled, release, subscription };
  };
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('hands over the next row of a key as soon as the one before it is acked', async () => {
    const transport = open();
    const channel = `keyed-${randomUUID()}`;
    const { handled, release, subscription } = await holdFirst(transport, channel);
    const first = message({ key: 'k' });
    const second = message({ key: 'k' });
    await transport.send(channel, [first]);
    await waitFor(() => handled.length === 1, 'the head of the key', 5_000);
    // The second arrives while the first is held: its NOTIFY wakes the consumer, whose claim finds
    // nothing it may take (the key's head is leased). Let it go back to sleep before the ack.
    await transport.send(channel, [second]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ackedAt = performance.now();
    release();
    await waitFor(() => handled.length === 2, 'the next message of the key', 5_000);
    expect(handled).toEqual([first.id, second.id]);
    expect(performance.now() - ackedAt).toBeLessThan(2_000);
    await subscription.close();
  });

  it('brings a nacked message back when its delay has passed', async () => {
    const transport = open();
    const channel = `nacked-${randomUUID()}`;
    const seen: number[] = [];
    const subscription = await transport.consume(channel, async (delivery) => {
      seen.push(performance.now());
      if (seen.length === 1) await delivery.nack({ delayMs: 300 });
      else await delivery.ack();
    });
    await transport.send(channel, [message()]);
    await waitFor(() => seen.length === 2, 'the redelivery', 5_000);
    expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(250);
    await subscription.close();
  });

  it('delivers a delayed message when it is due, after the claim that found the channel drained', async () => {
    const transport = open();
    const channel = `delayed-${randomUUID()}`;
    const arrived = new Map<string, number>();
    const subscription = await transport.consume(channel, async (delivery) => {
      arrived.set(delivery.message.id, Date.now());
      await delivery.ack();
    });
    const now = message();
    const later = message({ deliverAt: Date.now() + 500 });
    await transport.send(channel, [now, later]);
    await waitFor(() => arrived.has(later.id), 'the delayed message', 5_000);
    expect(arrived.get(later.id)!).toBeGreaterThanOrEqual(later.deliverAt! - 50);
    await subscription.close();
  });

  it('without LISTEN, looks for new rows after each ack, so a busy consumer does not wait for its poll', async () => {
    const consumer = open(false);
    const producer = open();
    const channel = `unlistened-${randomUUID()}`;
    const first = message();
    const second = message();
    // Sent before the consumer starts: its first claim finds it without any notification.
    await producer.send(channel, [first]);
    const { handled, release, subscription } = await holdFirst(consumer, channel);
    await waitFor(() => handled.length === 1, 'the first message', 5_000);
    // From another transport, and nobody listens: nothing but the ack can bring the consumer back.
    await producer.send(channel, [second]);
    release();
    await waitFor(() => handled.length === 2, 'the message sent while the first was handled', 5_000);
    expect(handled).toEqual([first.id, second.id]);
    await subscription.close();
  });
});
