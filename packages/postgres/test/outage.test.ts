import { randomUUID } from 'node:crypto';
import { ErrorCode, type TransportError, type TransportMessage } from '@switchyard/core/transport';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

const messages = (n: number): TransportMessage[] =>
  Array.from({ length: n }, () => ({ id: randomUUID(), headers: {}, body: new Uint8Array([1, 2, 3]) }));

describe.runIf(reachable)('PostgresTransport when the database goes away', () => {
  const pool = testPool();
  const schema = uniqueSchema('outage');
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('sends reject while it is away, the consumer reports and waits, then resumes by itself (LISTEN included)', async () => {
    const target = new URL(POSTGRES_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(POSTGRES_URL);
    viaProxy.host = proxy.address;
    const errors: TransportError[] = [];
    // A fallback poll of a minute: after the outage only a re-established LISTEN explains a prompt delivery.
    const transport = new PostgresTransport({
      connectionString: viaProxy.toString(),
      schema,
      pollIntervalMs: 60_000,
      onError: (error) => errors.push(error),
    });
    const direct = new PostgresTransport({ connectionString: POSTGRES_URL, schema });
    const channel = `outage-${randomUUID()}`;
    const received = new Set<string>();
    try {
      const subscription = await transport.consume(
        channel,
        async (delivery) => {
          received.add(delivery.message.id);
          await delivery.ack();
        },
        { concurrency: 4 },
      );
      const before = messages(20);
      await transport.send(channel, before);
      await waitFor(() => before.every((m) => received.has(m.id)), 'the messages before the outage');

      await proxy.refuse();
      await expect(transport.send(channel, messages(1))).rejects.toMatchObject({ code: ErrorCode.SendFailed });
      await waitFor(() => errors.length > 0, 'the consumer reporting the outage');
      // Sent by another process while this one cannot reach the database.
      const during = messages(20);
      await direct.send(channel, during);

      await proxy.restore();
      await waitFor(() => during.every((m) => received.has(m.id)), 'the messages sent during the outage', 20_000);
      // The consumer now sleeps on an empty channel: a send from elsewhere must wake it by NOTIFY.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const after = messages(5);
      const sentAt = Date.now();
      await direct.send(channel, after);
      await waitFor(() => after.every((m) => received.has(m.id)), 'the messages after the outage', 10_000);
      console.log(
        `[postgres outage] errors reported during the outage: ${errors.length} (first: ${errors[0]?.message}); woken ${Date.now() - sentAt} ms after a send once back`,
      );
      expect(Date.now() - sentAt).toBeLessThan(5_000);
      await transport.send(channel, messages(1));
      await subscription.close();
    } finally {
      await proxy.close();
      await Promise.all([transport.close(), direct.close()]);
    }
  }, 60_000);
});
