import { brokerReachable } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, quoteSchema } from '../src/migrations.js';
import { TRANSPORT_COMPONENT, transportMigrations } from '../src/schema.js';
import { type InsertRow, Statements } from '../src/statements.js';
import { dropSchemas, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

/**
 * The claim statement's second answer: when a claim takes fewer rows than it asked for, it says
 * when the next row may be claimed, so that the consumer sleeps without asking in a round trip of
 * its own. Each case uses its own channel.
 */
describe.runIf(reachable)('claim statement on PostgreSQL', () => {
  const pool = testPool();
  const schema = uniqueSchema('claim');
  const statements = new Statements(quoteSchema(schema), schema);
  const LEASE_MS = 30_000;
  let n = 0;
  const row = (channel: string, extra: Partial<InsertRow> = {}): InsertRow => ({
    channel,
    id: `m-${++n}`,
    headers: '{}',
    body: Buffer.from('{}'),
    key: null,
    deliverAt: null,
    ...extra,
  });
  const claim = (channel: string, limit: number, acked: readonly string[] = []) =>
    statements.claim(pool, channel, limit, LEASE_MS, `owner-${channel}`, acked);

  beforeAll(async () => {
    await migrate(pool, schema, TRANSPORT_COMPONENT, transportMigrations(schema));
  });
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it('says nothing is coming when the channel is empty, or held only the rows it just took', async () => {
    expect(await claim('empty', 10)).toEqual({ rows: [], nextIn: undefined });
    await statements.insert(pool, [row('taken'), row('taken')]);
    const taken = await claim('taken', 10);
    expect(taken.rows.map((r) => r[1])).toHaveLength(2);
    // Its own fresh leases are not "the next row": the consumer renews them while it handles them.
    expect(taken.nextIn).toBeUndefined();
  });

  it('gives the time until a delayed row is due, and nothing after a full claim', async () => {
    const now = Date.now();
    await statements.insert(pool, [row('delayed'), row('delayed', { deliverAt: now + 2_000 })]);
    const short = await claim('delayed', 5);
    expect(short.rows).toHaveLength(1);
    expect(short.nextIn).toBeGreaterThan(500);
    expect(short.nextIn).toBeLessThanOrEqual(2_000);

    await statements.insert(pool, [row('full'), row('full'), row('full')]);
    const full = await claim('full', 2);
    expect(full.rows).toHaveLength(2);
    expect(full.nextIn).toBeUndefined();
    expect((await claim('full', 2)).rows).toHaveLength(1);
  });

  it('counts the next row of a key as claimable once the claim deleted its acked predecessor', async () => {
    await statements.insert(pool, [row('keyed', { key: 'k' }), row('keyed', { key: 'k' })]);
    const first = await claim('keyed', 10);
    // Only the head of the key; the second waits behind it, so nothing else is due.
    expect(first.rows).toHaveLength(1);
    expect(first.nextIn).toBeUndefined();
    const [seq] = first.rows[0] ?? [];
    // The claim that deletes the ack sees the old head in its snapshot and takes nothing, but
    // says the successor is claimable now.
    const acking = await claim('keyed', 10, [seq as string]);
    expect(acking.rows).toHaveLength(0);
    expect(acking.nextIn).toBeLessThanOrEqual(0);
    const next = await claim('keyed', 10);
    expect(next.rows.map((r) => r[4])).toEqual(['k']);
  });
});
