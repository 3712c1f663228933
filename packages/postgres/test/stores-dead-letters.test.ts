import { createService, type DeadLetterStore, defineCommand, ErrorCode } from '@switchyard/core';
import { brokerReachable, runDeadLetterStoreConformance, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PostgresDeadLetterStore } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
const pool = testPool();
const schemas: string[] = [];
const schemaOf = new Map<DeadLetterStore, string>();
afterAll(async () => {
  await dropSchemas(pool, schemas);
  await pool.end();
});

function open(schema = uniqueSchema('dlq')): PostgresDeadLetterStore {
  if (!schemas.includes(schema)) schemas.push(schema);
  const store = new PostgresDeadLetterStore(`${POSTGRES_URL}?schema=${schema}`);
  schemaOf.set(store, schema);
  return store;
}

describe('PostgresDeadLetterStore configuration', () => {
  it('says what to change for a bad source or schema', () => {
    expect(() => new PostgresDeadLetterStore('not a url')).toThrow(/must be a URL such as postgres:\/\/user@host/);
    expect(() => new PostgresDeadLetterStore('amqp://127.0.0.1')).toThrow(/not a postgres:\/\/ URL/);
    expect(() => new PostgresDeadLetterStore(POSTGRES_URL, { schema: 'Bad-Name' })).toThrow(
      expect.objectContaining({ code: ErrorCode.Configuration }),
    );
    expect(() => new PostgresDeadLetterStore({} as never)).toThrow(/a postgres:\/\/ URL or a pg.Pool/);
    expect(() => new PostgresDeadLetterStore(POSTGRES_URL, { maxConnections: 0 })).toThrow(/'maxConnections' must be/);
    expect(() => new PostgresDeadLetterStore('postgres://u:secret@db/x', { schema: 'Nope' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret') }),
    );
    expect(() => new PostgresDeadLetterStore('mysql://u:secret@db/x')).toThrow(
      /'mysql:\/\/u:\*\*\*@db\/x' is not a postgres/,
    );
  });
});

describe.runIf(reachable)('PostgresDeadLetterStore (PostgreSQL)', () => {
  runDeadLetterStoreConformance('PostgresDeadLetterStore', {
    open: async () => open(),
    reopen: async (store) => open(schemaOf.get(store)),
  });

  it('works on a borrowed pool, which it leaves open on close', async () => {
    const schema = uniqueSchema('dlq_pool');
    schemas.push(schema);
    const store = new PostgresDeadLetterStore(pool, { schema });
    const { deadLetterRecord } = await import('@switchyard/testing');
    await store.add(deadLetterRecord(7));
    expect(await store.count()).toBe(1);
    await store.close();
    await expect(store.count()).rejects.toMatchObject({ code: ErrorCode.Closed });
    const rows = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sy_dead_letters`);
    expect(rows.rows[0].n).toBe(1);
  });

  it('keeps the dead letters of a service on another transport, and replays one to it', async () => {
    const schema = uniqueSchema('dlq_svc');
    const store = open(schema);
    const Pay = defineCommand('pay.now', z.object({ n: z.number() }));
    let failing = true;
    const handled: number[] = [];
    const service = createService({
      name: `pg-dlq-${schema}`,
      transport: 'memory://',
      deadLetters: store,
      handleSignals: false,
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    service.handle(
      Pay,
      (command) => {
        if (failing) throw new Error(`card ${command.n} declined`);
        handled.push(command.n);
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand(service.name, Pay, { n: 1 });
      await expect.poll(() => store.count({ service: service.name }), { timeout: 10_000 }).toBe(1);
      const [record] = await store.list({ code: 'SY_HANDLER_FAILED', search: 'DECLINED' });
      expect(record?.messageName).toBe('pay.now');
      failing = false;
      await service.replayDeadLetter(record!.id);
      await waitFor(() => handled.length === 1, 'the replayed command handled');
      expect(await store.count()).toBe(0);
    } finally {
      await service.stop();
      await store.close();
    }
  });
});
