import { randomUUID } from 'node:crypto';
import { type TransportMessage, withTimeout } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { type ConsumerChild, startConsumer } from './child.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
const TOTAL = 10_000;
const LEASE_MS = 1_000;

function message(n: number): TransportMessage {
  return {
    id: randomUUID(),
    headers: { 'content-type': 'application/json', 'ce-type': 'crash.test' },
    body: new TextEncoder().encode(JSON.stringify({ n })),
  };
}

describe.runIf(reachable)('PostgresTransport crash safety', () => {
  const pool = testPool();
  const schema = uniqueSchema('crash');
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('loses nothing when consumer processes are SIGKILLed twice during 10,000 messages', async () => {
    const channel = `crash-${randomUUID()}`;
    const producer = new PostgresTransport({ connectionString: POSTGRES_URL, schema, poolSize: 2 });
    const ids = new Set<string>();
    const sendRange = async (from: number, to: number) => {
      for (let i = from; i < to; i += 250) {
        const batch = Array.from({ length: 250 }, (_, j) => message(i + j));
        for (const m of batch) ids.add(m.id);
        await producer.send(channel, batch);
      }
    };
    // Most messages wait in the channel, so that the consumers run flat out when they are killed;
    // the rest is sent while they run.
    await sendRange(0, 6_000);
    const sending = sendRange(6_000, TOTAL);
    const children: ConsumerChild[] = [];
    const all = () => children.flatMap((child) => child.handled);
    const distinct = () => new Set(all().map((h) => h.id)).size;
    const killedAt: number[] = [];
    try {
      for (const threshold of [2_000, 5_000]) {
        // Handlers that take a millisecond: the kill lands while deliveries are handled and unacked.
        const child = startConsumer(POSTGRES_URL, schema, channel, LEASE_MS, 8, 1);
        children.push(child);
        await withTimeout(child.ready, 30_000, 'consumer ready');
        await waitFor(() => distinct() >= threshold, `${threshold} messages handled`, 60_000);
        // The crash: no close, no release; its leased rows must come back by lease expiry.
        child.process.kill('SIGKILL');
        await child.exited;
        killedAt.push(distinct());
      }
      const last = startConsumer(POSTGRES_URL, schema, channel, LEASE_MS);
      children.push(last);
      await withTimeout(last.ready, 30_000, 'last consumer ready');
      await sending;
      await waitFor(() => distinct() >= TOTAL, 'every message handled', 120_000);
      // Every ack is committed once the last consumer closes (close flushes write-behind acks).
      last.process.kill('SIGTERM');
      await last.exited;
      const left = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sy_messages WHERE channel = $1`, [
        channel,
      ]);
      const handled = all();
      const seen = new Set(handled.map((h) => h.id));
      const lost = [...ids].filter((id) => !seen.has(id)).length;
      const redelivered = handled.filter((h) => h.count > 1).length;
      console.log(
        `[postgres crash test] messages=${TOTAL} kills=2 (after ${killedAt.join(' and ')} distinct handled) handled total=${handled.length} distinct=${seen.size} duplicates=${handled.length - seen.size} redelivered (deliveryCount>1)=${redelivered} lost=${lost}`,
      );
      expect(lost).toBe(0);
      expect(left.rows[0].n).toBe(0);
      expect(seen.size).toBe(TOTAL);
      expect(redelivered).toBeGreaterThan(0);
    } finally {
      for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
      await Promise.all(children.map((child) => child.exited));
      await producer.close();
    }
  }, 240_000);
});
