import { randomBytes } from 'node:crypto';
import { runTransportConformance } from '@switchyard/testing';
import pg from 'pg';
import { afterAll } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, uniqueSchema } from './helpers.js';

// One schema per run stands for "the database"; every transport made here is one process connected to it.
const schema = uniqueSchema('conformance');
// Every connection of this suite carries this application_name, so dropConnections kills only these.
const applicationName = `sy-conformance-${randomBytes(4).toString('hex')}`;
const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });

runTransportConformance({
  name: 'postgres',
  probe: probePostgres,
  // A short lease, so scenarios where a consumer goes away see its deliveries come back quickly.
  createTransport: () =>
    new PostgresTransport({ connectionString: POSTGRES_URL, schema, leaseMs: 2_000, applicationName, poolSize: 4 }),
  replyChannelExists,
  async dropConnections() {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
  },
});

// The other paths: acks that resolve once committed, and consumers that only poll (no LISTEN).
runTransportConformance({
  name: 'postgres (durableAck, polling only)',
  probe: probePostgres,
  createTransport: () =>
    new PostgresTransport({
      connectionString: POSTGRES_URL,
      schema,
      leaseMs: 2_000,
      applicationName,
      poolSize: 4,
      durableAck: true,
      listen: false,
      pollIntervalMs: 50,
    }),
  replyChannelExists,
  async dropConnections() {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
  },
});

/** A reply channel is its row in sy_reply_channels and its rows in sy_messages. */
async function replyChannelExists(address: string): Promise<boolean> {
  const { rows } = await admin.query(
    `SELECT EXISTS (SELECT 1 FROM "${schema}".sy_reply_channels WHERE channel = $1)
         OR EXISTS (SELECT 1 FROM "${schema}".sy_messages WHERE channel = $1) AS found`,
    [address],
  );
  return rows[0]?.found === true;
}

afterAll(async () => {
  await dropSchemas(admin, [schema]).catch(() => undefined);
  await admin.end();
});
