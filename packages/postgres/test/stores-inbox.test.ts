import { createService, defineCommand, ErrorCode, type HandlerContext } from '@switchyard/core';
import { brokerReachable, MessageSpy } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PostgresInboxStore, PostgresOutboxStore, pgTransaction } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

describe('PostgresInboxStore configuration', () => {
  it('says what to change for a bad autoPrune, and pgTransaction outside a transactional handler', () => {
    expect(() => new PostgresInboxStore(POSTGRES_URL, { autoPrune: { retentionMs: 0 } })).toThrow(
      /autoPrune.retentionMs/,
    );
    expect(() => pgTransaction({ handler: 'h' } as HandlerContext)).toThrow(/register it with \{ transactionalInbox/);
  });
});

describe.runIf(reachable)('PostgresInboxStore (PostgreSQL)', () => {
  const pool = testPool();
  const schemas: string[] = [];
  const stores: Array<{ close(): Promise<void> }> = [];
  const newSchema = (label: string) => {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    return schema;
  };
  const open = (schema: string, options: ConstructorParameters<typeof PostgresInboxStore>[1] = {}) => {
    const store = new PostgresInboxStore(`${POSTGRES_URL}?schema=${schema}`, options);
    stores.push(store);
    return store;
  };
  const count = async (sql: string) => (await pool.query(sql)).rows[0].n as number;
  afterAll(async () => {
    for (const store of stores) await store.close();
    await dropSchemas(pool, schemas);
    await pool.end();
  });

  it('remembers each handler of a message apart, across a reopen, and prunes by age', async () => {
    const schema = newSchema('inbox');
    const inbox = open(schema);
    expect(await inbox.isProcessed('a', 'm1')).toBe(false);
    await inbox.markProcessed('a', 'm1');
    await inbox.markProcessed('a', 'm1');
    expect(await inbox.isProcessed('a', 'm1')).toBe(true);
    expect(await inbox.isProcessed('b', 'm1')).toBe(false);
    await inbox.markProcessed('b', 'm2');
    const again = open(schema);
    expect(await again.isProcessed('a', 'm1')).toBe(true);
    await pool.query(
      `UPDATE "${schema}".sy_inbox SET processed_at = now() - interval '2 hours' WHERE message_id = 'm1'`,
    );
    expect(await again.prune(3_600_000)).toBe(1);
    expect(await again.isProcessed('a', 'm1')).toBe(false);
    expect(await again.isProcessed('b', 'm2')).toBe(true);
    await inbox.close();
    await expect(inbox.isProcessed('b', 'm2')).rejects.toMatchObject({ code: ErrorCode.Closed });
  });

  it('prunes on its own with autoPrune', async () => {
    const schema = newSchema('inbox_auto');
    const inbox = open(schema, { autoPrune: { retentionMs: 50, intervalMs: 50 } });
    await inbox.markProcessed('a', 'm1');
    await expect.poll(() => inbox.isProcessed('a', 'm1'), { timeout: 5_000 }).toBe(false);
  });

  it('processInTransaction: the work and the record commit together, roll back together, and run once', async () => {
    const schema = newSchema('inbox_tx');
    const inbox = open(schema);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".effects (n int)`);
    const effects = () => count(`SELECT count(*)::int AS n FROM "${schema}".effects`);

    await expect(
      inbox.processInTransaction('h', 'm1', async (client) => {
        await client.query(`INSERT INTO "${schema}".effects VALUES (1)`);
        throw new Error('handler failed after its write');
      }),
    ).rejects.toThrow('handler failed after its write');
    expect(await effects()).toBe(0);
    expect(await inbox.isProcessed('h', 'm1')).toBe(false);

    expect(
      await inbox.processInTransaction('h', 'm1', (client) =>
        client.query(`INSERT INTO "${schema}".effects VALUES (1)`).then(() => undefined),
      ),
    ).toBe(true);
    expect(await inbox.isProcessed('h', 'm1')).toBe(true);
    let ran = false;
    expect(
      await inbox.processInTransaction('h', 'm1', async () => {
        ran = true;
      }),
    ).toBe(false);
    expect(ran).toBe(false);

    // Two copies at once: the second waits on the first's row, then finds it and skips.
    const results = await Promise.all(
      [1, 2].map(() =>
        inbox.processInTransaction('h', 'm2', async (client) => {
          await client.query(`INSERT INTO "${schema}".effects VALUES (2)`);
        }),
      ),
    );
    expect(results.sort()).toEqual([false, true]);
    expect(await effects()).toBe(2);
  });

  it('a handler with transactionalInbox: writes and mark commit together; a failed attempt leaves nothing; a redelivery does nothing', async () => {
    const schema = newSchema('inbox_svc');
    const inbox = open(schema);
    const outbox = new PostgresOutboxStore(`${POSTGRES_URL}?schema=${schema}`);
    stores.push(outbox);
    await outbox.migrate();
    await pool.query(`CREATE TABLE "${schema}".payments (n int PRIMARY KEY)`);
    const Charge = defineCommand('pay.charge', z.object({ n: z.number() }));
    const name = `payments-${schema}`;
    let failOnce = true;
    const service = createService({
      name,
      transport: 'memory://',
      inbox,
      handleSignals: false,
      retry: { instantRetries: 1, delayedRetries: 0 },
    });
    service.handle(
      Charge,
      async (command, context) => {
        const client = pgTransaction(context);
        await client.query(`INSERT INTO "${schema}".payments VALUES ($1)`, [command.n]);
        // An outgoing message in the same transaction: exactly-once in, atomic out.
        await outbox.add(client, await context.prepareCommand(name, Charge, { n: command.n + 1000 }));
        if (failOnce) {
          failOnce = false;
          throw new Error('crash after the write');
        }
      },
      { distributed: true, transactionalInbox: true },
    );
    const spy = new MessageSpy().watch(service);
    await service.start();
    try {
      await service.distributedBus.sendCommand(name, Charge, { n: 1 });
      await spy.until(() => spy.handled.length === 1, 'the command handled on its second attempt');
      expect(spy.failed).toHaveLength(1);
      expect(await count(`SELECT count(*)::int AS n FROM "${schema}".payments`)).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM "${schema}".sy_outbox`)).toBe(1);
      // The broker redelivers the same message (same id): the inbox row is there, the handler does not run.
      const route = await service.serviceMap.route(name);
      const [record] = await outbox.pending(1);
      expect(record).toBeDefined();
      const prepared = await service.distributedBus.prepareCommand(name, Charge, { n: 1 });
      const row = (await pool.query(`SELECT message_id FROM "${schema}".sy_inbox`)).rows[0].message_id as string;
      await route.transport.send(route.channel, [
        { ...prepared.message, id: row, headers: { ...prepared.message.headers, 'ce-id': row } },
      ]);
      await spy.until(() => spy.duplicates.length === 1, 'the redelivery suppressed');
      expect(await count(`SELECT count(*)::int AS n FROM "${schema}".payments`)).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM "${schema}".sy_outbox`)).toBe(1);
    } finally {
      await service.stop();
    }
  });
});
