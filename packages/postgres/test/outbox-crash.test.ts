import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createService, defineEvent } from '@switchyard/core';
import { brokerReachable, MessageSpy } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PostgresInboxStore, PostgresOutboxStore } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));
const ORDERS = 300;
const child = fileURLToPath(new URL('./fixtures/outbox-producer.ts', import.meta.url));

/** Run the producer in `mode`; resolves with the signal it died of and what it printed. */
function crashChild(mode: string, args: string[]): Promise<{ signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const producer = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', child, mode, ...args, String(ORDERS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    producer.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    producer.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    producer.on('error', reject);
    producer.on('exit', (_code, signal) => resolve({ signal, output }));
  });
}

describe.runIf(reachable)('PostgreSQL outbox across producer crashes (relay to the SQLite transport)', () => {
  const pool = testPool();
  const schema = uniqueSchema('ob_crash');
  const dir = mkdtempSync(join(tmpdir(), 'sy-pg-outbox-'));
  afterAll(async () => {
    await dropSchemas(pool, [schema]);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing when killed between commit and forward or between forward and removal; the inbox drops the repeats', async () => {
    const sqlitePath = join(dir, 'broker.db');
    const shopName = `shop_${schema}`;
    const billingName = `billing_${schema}`;
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".orders (id text PRIMARY KEY)`);
    await pool.query(`CREATE TABLE "${schema}".billed (order_id text)`);
    const count = async (sql: string) => (await pool.query(sql)).rows[0].n as number;
    const outboxRows = () => count(`SELECT count(*)::int AS n FROM "${schema}".sy_outbox`);

    const inbox = new PostgresInboxStore(`${POSTGRES_URL}?schema=${schema}`);
    const billing = createService({
      name: billingName,
      transport: `sqlite:${sqlitePath}`,
      inbox,
      handleSignals: false,
      concurrency: 4,
    });
    billing.handle(
      OrderPlaced,
      async (event) => {
        await pool.query(`INSERT INTO "${schema}".billed (order_id) VALUES ($1)`, [event.orderId]);
      },
      { distributed: true },
    );
    const spy = new MessageSpy().watch(billing);
    await billing.start();
    const args = [POSTGRES_URL, schema, sqlitePath, shopName];
    try {
      // 1. Committed, then killed before any forward: every order and its event are in PostgreSQL.
      const write = await crashChild('write', args);
      expect(write.signal, write.output).toBe('SIGKILL');
      expect(await count(`SELECT count(*)::int AS n FROM "${schema}".orders`)).toBe(ORDERS);
      expect(await outboxRows()).toBe(ORDERS);
      expect(spy.handled).toHaveLength(0);

      // 2. Forwarded and confirmed by the broker, killed before the records were removed: they stay.
      const forward = await crashChild('forward', args);
      expect(forward.signal, forward.output).toBe('SIGKILL');
      const firstBatch = Number(/forwarded (\d+)/.exec(forward.output)?.[1]);
      expect(firstBatch).toBeGreaterThan(0);
      await spy.until(() => spy.handled.length === firstBatch, 'the first forwarded batch handled', 20_000);
      const outboxAfterForwardCrash = await outboxRows();
      expect(outboxAfterForwardCrash).toBe(ORDERS);

      // 3. A restarted relay forwards the rest at once and the dead relay's batch when its lease ends;
      //    the billing service's inbox suppresses every repeat.
      const outbox = new PostgresOutboxStore(`${POSTGRES_URL}?schema=${schema}`);
      const shop = createService({ name: shopName, transport: `sqlite:${sqlitePath}`, outbox, handleSignals: false });
      await shop.start();
      try {
        await spy.until(
          () => spy.duplicates.length === firstBatch && spy.handled.length === ORDERS,
          'the rest handled and every repeated forward suppressed',
          30_000,
        );
        await billing.whenIdle();
        await expect.poll(outboxRows, { timeout: 10_000 }).toBe(0);
      } finally {
        await shop.stop();
        await outbox.close();
      }
      const distinct = await count(`SELECT count(DISTINCT order_id)::int AS n FROM "${schema}".billed`);
      const sideEffects = await count(`SELECT count(*)::int AS n FROM "${schema}".billed`);
      console.log(
        `[postgres outbox crash test] orders=${ORDERS} outbox after the commit-then-kill=${ORDERS} first forward=${firstBatch} outbox after the forward-then-kill=${outboxAfterForwardCrash} handled=${spy.handled.length} duplicates suppressed by the inbox=${spy.duplicates.length} billed rows=${sideEffects} distinct=${distinct} lost=${ORDERS - distinct}`,
      );
      expect(distinct).toBe(ORDERS);
      expect(sideEffects).toBe(ORDERS);
    } finally {
      await billing.stop();
      await inbox.close();
    }
  }, 120_000);
});
