import { createService, defineEvent, type OutboundMessage } from '@switchyard/core';
import { brokerReachable } from '@switchyard/testing';
import { CompiledQuery, Kysely, PostgresDialect, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PostgresOutboxStore, type Queryable } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));

/** The documented adapter: a Kysely transaction as a Queryable. */
function kyselyQueryable(trx: Transaction<unknown>): Queryable {
  return { query: (text, values) => trx.executeQuery(CompiledQuery.raw(text, values)) };
}

function outbound(n: number, key?: string): OutboundMessage {
  return {
    destination: { kind: 'send', service: 'billing' },
    message: {
      id: `m-${n}`,
      headers: { 'ce-id': `m-${n}`, 'ce-type': 'order.placed', 'x-n': String(n) },
      body: new Uint8Array([123, 125, n % 256, 0]),
      ...(key === undefined ? {} : { key }),
    },
  };
}

describe.runIf(reachable)('PostgresOutboxStore (PostgreSQL)', () => {
  const pool = testPool();
  const schemas: string[] = [];
  const stores: PostgresOutboxStore[] = [];
  const newSchema = (label: string) => {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    return schema;
  };
  const open = (schema: string, options: { leaseMs?: number } = {}) => {
    const store = new PostgresOutboxStore(`${POSTGRES_URL}?schema=${schema}`, options);
    stores.push(store);
    return store;
  };
  const count = async (schema: string, table = 'sy_outbox') =>
    (await pool.query(`SELECT count(*)::int AS n FROM "${schema}".${table}`)).rows[0].n as number;
  beforeAll(async () => {
    await pool.query('SELECT 1');
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await dropSchemas(pool, schemas);
    await pool.end();
  });

  it("adds on the caller's client inside its transaction: rolled back with it, committed with it, bytes intact", async () => {
    const schema = newSchema('ob_tx');
    const store = open(schema);
    await store.migrate();
    const client = await pool.connect();
    try {
      await client.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY)`);
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders VALUES ('o-1')`);
      await store.add(client, outbound(1));
      await client.query('ROLLBACK');
      expect(await count(schema)).toBe(0);
      expect(await count(schema, 'orders')).toBe(0);

      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders VALUES ('o-2')`);
      await store.add(client, [
        outbound(2, 'order-2'),
        { ...outbound(3), destination: { kind: 'publish', routingKey: 'order.placed' } },
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const records = await store.pending(10);
    expect(records.map((r) => r.outbound)).toEqual([
      outbound(2, 'order-2'),
      { ...outbound(3), destination: { kind: 'publish', routingKey: 'order.placed' } },
    ]);
    await store.markForwarded(records.map((r) => r.id));
    await store.markForwarded(records.map((r) => r.id));
    expect(await count(schema)).toBe(0);
  });

  it('joins a Kysely transaction through a one-line adapter', async () => {
    const schema = newSchema('ob_kysely');
    const store = open(schema);
    await store.migrate();
    await pool.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY)`);
    const db = new Kysely<{ orders: { id: string } }>({ dialect: new PostgresDialect({ pool: testPool() }) });
    try {
      const orders = db.withSchema(schema);
      await orders.transaction().execute(async (trx) => {
        await trx.insertInto('orders').values({ id: 'k-1' }).execute();
        await store.add(kyselyQueryable(trx as Transaction<unknown>), outbound(1));
      });
      await expect(
        orders.transaction().execute(async (trx) => {
          await trx.insertInto('orders').values({ id: 'k-2' }).execute();
          await store.add(kyselyQueryable(trx as Transaction<unknown>), outbound(2));
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
    } finally {
      await db.destroy();
    }
    expect(await count(schema, 'orders')).toBe(1);
    expect((await store.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-1']);
  });

  it('rejects a failed insert with SY_SEND_FAILED so the caller rolls back', async () => {
    const schema = newSchema('ob_fail');
    const store = open(schema);
    await store.migrate();
    const broken: Queryable = { query: () => Promise.reject(new Error('connection reset')) };
    await expect(store.add(broken, outbound(1))).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
  });

  it('leases what pending returns: other relays skip it until markForwarded, release, or the lease runs out', async () => {
    const schema = newSchema('ob_lease');
    const a = open(schema);
    const b = open(schema);
    await a.migrate();
    await a.add(pool, [outbound(1), outbound(2), outbound(3)]);
    const first = await a.pending(2);
    expect(first.map((r) => r.outbound.message.id)).toEqual(['m-1', 'm-2']);
    expect((await b.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-3']);
    expect(await b.pending(10)).toEqual([]);
    await a.release([first[0]!.id]);
    expect((await b.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-1']);
    await a.markForwarded(first.map((r) => r.id));
    await b.markForwarded((await pool.query(`SELECT seq FROM "${schema}".sy_outbox`)).rows.map((r) => String(r.seq)));

    // A relay that dies keeps its records only until its lease runs out.
    const short = open(schema, { leaseMs: 200 });
    await a.add(pool, outbound(4));
    expect((await short.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-4']);
    const expired = async () =>
      (await pool.query(`SELECT 1 FROM "${schema}".sy_outbox WHERE lease_until < now()`)).rowCount;
    await expect.poll(expired, { timeout: 5_000 }).toBe(1);
    expect((await b.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-4']);
  });

  it('serializes writers of one key, so seq order is commit order per key', async () => {
    const schema = newSchema('ob_keylock');
    const store = open(schema);
    await store.migrate();
    const t1 = await pool.connect();
    const t2 = await pool.connect();
    try {
      await t1.query('BEGIN');
      await store.add(t1, outbound(1, 'cart-7'));
      await t2.query('BEGIN');
      await store.add(t2, outbound(2, 'other'));
      const t2pid = (await t2.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const blocked = store.add(t2, outbound(3, 'cart-7'));
      await expect
        .poll(
          async () =>
            (await pool.query('SELECT wait_event FROM pg_stat_activity WHERE pid = $1', [t2pid])).rows[0]?.wait_event,
        )
        .toBe('advisory');
      await t1.query('COMMIT');
      await blocked;
      await t2.query('COMMIT');
    } finally {
      t1.release();
      t2.release();
    }
    const rows = await pool.query(`SELECT message_id FROM "${schema}".sy_outbox ORDER BY seq`);
    expect(rows.rows.map((r) => r.message_id)).toEqual(['m-1', 'm-2', 'm-3']);
  });

  it('four relays at once forward each of 2,000 records once, in order per key', async () => {
    const schema = newSchema('ob_relays');
    const relays = Array.from({ length: 4 }, () => open(schema));
    await relays[0]!.migrate();
    const total = 2_000;
    for (let from = 0; from < total; from += 500) {
      await relays[0]!.add(
        pool,
        Array.from({ length: 500 }, (_, i) => outbound(from + i, `key-${(from + i) % 20}`)),
      );
    }
    const forwarded: Array<{ n: number; key: string; relay: number }> = [];
    await Promise.all(
      relays.map(async (store, relay) => {
        for (;;) {
          const batch = await store.pending(25);
          if (batch.length === 0) {
            if ((await count(schema)) === 0) return;
            continue;
          }
          for (const record of batch) {
            const m = record.outbound.message;
            forwarded.push({ n: Number(m.headers['x-n']), key: m.key!, relay });
          }
          await new Promise((resolve) => setImmediate(resolve));
          await store.markForwarded(batch.map((r) => r.id));
        }
      }),
    );
    expect(forwarded).toHaveLength(total);
    expect(new Set(forwarded.map((f) => f.n)).size).toBe(total);
    const perKey = new Map<string, number[]>();
    for (const f of forwarded) perKey.set(f.key, [...(perKey.get(f.key) ?? []), f.n]);
    for (const ns of perKey.values()) expect(ns).toEqual([...ns].sort((x, y) => x - y));
    const byRelay = [0, 1, 2, 3].map((r) => forwarded.filter((f) => f.relay === r).length);
    console.log(
      `[outbox relays] records=${total} forwarded per relay=${byRelay.join('/')} duplicates=0 keys in order=20/20`,
    );
    expect(byRelay.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it("three services' relays on one outbox: every message handled once, in order per key", async () => {
    const schema = newSchema('ob_services');
    const broker = `memory://${schema}`;
    const Placed = defineEvent('cart.updated', z.object({ cart: z.string(), n: z.number() }));
    const handled: Array<{ cart: string; n: number }> = [];
    const billing = createService({
      name: `billing-${schema}`,
      transport: broker,
      inbox: false,
      concurrency: 1,
      handleSignals: false,
    });
    billing.handle(Placed, (event) => void handled.push(event), { distributed: true });
    await billing.start();
    const batches = [0, 0, 0];
    const shops = [0, 1, 2].map((i) => {
      const store = open(schema);
      const counted = {
        pending: async (limit: number) => {
          const records = await store.pending(limit);
          batches[i]! += records.length;
          return records;
        },
        markForwarded: (ids: readonly string[]) => store.markForwarded(ids),
        release: (ids: readonly string[]) => store.release(ids),
        waitForRecords: (signal: AbortSignal) => store.waitForRecords(signal),
      };
      return createService({
        name: `shop-${schema}`,
        transport: broker,
        outbox: counted,
        outboxRelay: { batchSize: 10 },
        handleSignals: false,
      });
    });
    await Promise.all(shops.map((shop) => shop.start()));
    const total = 600;
    const writer = open(schema);
    try {
      await writer.migrate();
      const client = await pool.connect();
      try {
        for (let from = 0; from < total; from += 50) {
          const events = await Promise.all(
            Array.from({ length: 50 }, (_, i) => {
              const n = from + i;
              const cart = `cart-${n % 5}`;
              return shops[0]!.distributedBus.prepareEvent(Placed, { cart, n }, { orderingKey: cart });
            }),
          );
          await client.query('BEGIN');
          await writer.add(client, events);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
      await expect.poll(() => handled.length, { timeout: 20_000 }).toBe(total);
      await expect.poll(() => count(schema)).toBe(0);
    } finally {
      await Promise.all(shops.map((shop) => shop.stop()));
      await billing.stop();
    }
    expect(new Set(handled.map((e) => e.n)).size).toBe(total);
    for (let c = 0; c < 5; c++) {
      const ns = handled.filter((e) => e.cart === `cart-${c}`).map((e) => e.n);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
    console.log(
      `[outbox service relays] messages=${total} handled=${handled.length} distinct=${new Set(handled.map((e) => e.n)).size} records per relay=${batches.join('/')}`,
    );
    expect(batches.reduce((a, b) => a + b, 0)).toBe(total);
  });

  it("a service's relay forwards through the service map, woken by NOTIFY", async () => {
    const schema = newSchema('ob_relay');
    const store = open(schema);
    const shop = createService({
      name: `shop-${schema}`,
      transport: 'memory://',
      outbox: store,
      // Polling alone would take 10 minutes to see a record: only the notification can wake the relay.
      outboxRelay: { pollIntervalMs: 60_000 },
      handleSignals: false,
    });
    const received: string[] = [];
    let receivedAt = 0;
    shop.handle(
      OrderPlaced,
      (event) => {
        receivedAt = performance.now();
        received.push(event.orderId);
      },
      { distributed: true },
    );
    await shop.start();
    try {
      await store.migrate();
      // Let the relay go idle on its LISTEN connection.
      await expect
        .poll(() =>
          pool
            .query(`SELECT 1 FROM pg_stat_activity WHERE query = 'LISTEN "${schema}.sy_outbox"'`)
            .then((r) => r.rowCount),
        )
        .toBe(1);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await store.add(client, await shop.distributedBus.prepareEvent(OrderPlaced, { orderId: 'o-1' }));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const committedAt = performance.now();
      await expect.poll(() => received, { timeout: 5_000 }).toEqual(['o-1']);
      const latencyMs = receivedAt - committedAt;
      console.log(`[outbox wake-up] commit to handler: ${latencyMs.toFixed(1)} ms (polling alone: 600,000 ms)`);
      expect(latencyMs).toBeLessThan(1_000);
      await expect.poll(() => count(schema)).toBe(0);
    } finally {
      await shop.stop();
    }
  });

  it('waitForRecords wakes on a commit, on a broken LISTEN connection, and listens again afterwards', async () => {
    const schema = newSchema('ob_listen');
    const store = open(schema);
    await store.migrate();
    const listeners = async () =>
      (await pool.query(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "${schema}.sy_outbox"'`)).rows.map(
        (row) => row.pid as number,
      );
    const abort = new AbortController();
    let woken = 0;
    // Each wake-up must come from its cause, well before the store's own 5 s limit on a wait.
    const waitOnce = () => {
      const started = performance.now();
      return store.waitForRecords(abort.signal).then(() => {
        expect(performance.now() - started).toBeLessThan(4_000);
        woken++;
      });
    };
    let waiting = waitOnce();
    await expect.poll(listeners).toHaveLength(1);
    await store.add(pool, outbound(1));
    await waiting;
    expect(woken).toBe(1);

    waiting = waitOnce();
    const [pid] = await listeners();
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waiting;
    expect(woken).toBe(2);

    waiting = waitOnce();
    await expect.poll(listeners).toHaveLength(1);
    expect(await listeners()).not.toContain(pid);
    await store.add(pool, outbound(2));
    await waiting;
    expect(woken).toBe(3);
    abort.abort();
  });

  it('offers the records of a failed forward again at once (release)', async () => {
    const schema = newSchema('ob_release');
    const store = open(schema);
    const shop = createService({
      name: `shop-${schema}`,
      transport: 'memory://',
      services: {},
      strictServiceMap: true,
      handleSignals: false,
      outbox: store,
      outboxRelay: { pollIntervalMs: 60_000 },
    });
    await store.migrate();
    await store.add(pool, outbound(1));
    await expect(shop.flushOutbox()).rejects.toMatchObject({ code: 'SY_NO_ROUTE' });
    expect((await store.pending(10)).map((r) => r.outbound.message.id)).toEqual(['m-1']);
  });
});
