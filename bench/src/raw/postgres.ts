import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { benchHeaders, benchPayload, nowMs } from '../contract.js';
import { PROGRESS_EVERY } from '../run-loop.js';

/** Options of the PostgreSQL baselines. */
export interface PostgresBaselineOptions {
  readonly connectionString: string;
  /** A schema of its own (created here, dropped by the caller). */
  readonly schema: string;
  readonly messages: number;
  /** Rows per insert statement and per claim. */
  readonly batch: number;
  /** Insert statements in flight at once, each on its own connection. */
  readonly producers: number;
  /** graphile-worker: jobs run at once. */
  readonly concurrency: number;
  /**
   * Raw loop: rows inserted and not yet handled, at most, as the framework's producer keeps
   * (`FrameworkRunOptions.window`): the consumer reports progress every `PROGRESS_EVERY`
   * messages and the producer waits while it is this far ahead, resuming at half.
   */
  readonly window: number;
}

/**
 * The same durable work as the PostgreSQL transport, written directly on `pg`: the producer (this
 * thread) inserts rows shaped like the transport's (UUID id, CloudEvents headers as JSON text,
 * the JSON payload as bytea, visible_at) with `producers` connections, each inserting `batch`
 * rows per statement (unnest); the consumer (a worker thread, one connection) leases `batch` rows
 * with `FOR UPDATE SKIP LOCKED`, reads them and deletes them (see postgres-worker.ts). Every
 * statement commits on its own, as in the transport. The flow is the framework run's closed
 * loop: the consumer posts its progress every `PROGRESS_EVERY` messages and the producer stays
 * within `window` of it. Throughput runs from the first insert to the last handled message.
 */
export async function rawPostgresBaseline(opts: PostgresBaselineOptions): Promise<{ msgsPerSec: number }> {
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.producers });
  const table = `"${opts.schema}".raw_messages`;
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, channel text NOT NULL, id text NOT NULL,
      headers text NOT NULL, body bytea NOT NULL, key text, visible_at timestamptz NOT NULL DEFAULT now(),
      delivery_count integer NOT NULL DEFAULT 0, lease_owner text, sent_at timestamptz NOT NULL DEFAULT now())`);
    await pool.query(`CREATE INDEX IF NOT EXISTS raw_ready ON ${table} (channel, visible_at, seq)`);
    await pool.query(`TRUNCATE ${table}`);
    const consumer = new Worker(WORKER, { workerData: { ...opts, role: 'raw', progressEvery: PROGRESS_EVERY } });
    try {
      await once(consumer, 'ready');
      let handled = 0;
      const waiting: Array<() => void> = [];
      consumer.on('message', (message: { type: string; value?: unknown }) => {
        if (message.type !== 'handled') return;
        handled = message.value as number;
        if (waiting.length > 0 && next - handled < opts.window / 2) for (const resume of waiting.splice(0)) resume();
      });
      const started = nowMs();
      let next = 0;
      const insert = `INSERT INTO ${table} (channel, id, headers, body, visible_at)
        SELECT 'bench', r.id, r.headers, r.body, now() FROM unnest($1::text[], $2::text[], $3::bytea[]) AS r(id, headers, body)`;
      const producer = async () => {
        while (next < opts.messages) {
          if (next - handled >= opts.window) {
            await new Promise<void>((resolve) => waiting.push(resolve));
            continue;
          }
          const from = next;
          const count = Math.min(opts.batch, opts.messages - from);
          next += count;
          const ids: string[] = [];
          const headers: string[] = [];
          const bodies: Buffer[] = [];
          for (let i = from; i < from + count; i++) {
            const id = randomUUID();
            ids.push(id);
            headers.push(JSON.stringify(benchHeaders(id)));
            bodies.push(Buffer.from(JSON.stringify(benchPayload(i))));
          }
          await pool.query({ name: 'raw_insert', text: insert, values: [ids, headers, bodies] });
        }
      };
      const done = once(consumer, 'done');
      await Promise.all(Array.from({ length: opts.producers }, producer));
      const finished = (await done) as number;
      return { msgsPerSec: opts.messages / ((finished - started) / 1_000) };
    } finally {
      await consumer.terminate();
    }
  } finally {
    await pool.end();
  }
}

/**
 * graphile-worker doing the same job flow: the producer (this thread) adds jobs in batches of
 * `batch` with `graphile_worker.add_jobs` (its bulk API) on `producers` connections; the runner
 * (a worker thread) runs a no-op task that parses the payload, `concurrency` jobs at once. The
 * runner installs its schema before the clock starts.
 */
export async function graphileWorkerBaseline(opts: PostgresBaselineOptions): Promise<{ msgsPerSec: number }> {
  const consumer = new Worker(WORKER, { workerData: { ...opts, role: 'graphile' } });
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.producers });
  try {
    await once(consumer, 'ready');
    const add = `SELECT "${opts.schema}".add_jobs(ARRAY(
      SELECT ROW('noop', p, NULL, NULL, NULL, NULL, NULL, NULL)::"${opts.schema}".job_spec
      FROM json_array_elements($1::json) AS p))`;
    const started = nowMs();
    let next = 0;
    const producer = async () => {
      while (next < opts.messages) {
        const from = next;
        const count = Math.min(opts.batch, opts.messages - from);
        next += count;
        const payloads = Array.from({ length: count }, (_, i) => benchPayload(from + i));
        await pool.query(add, [JSON.stringify(payloads)]);
      }
    };
    const done = once(consumer, 'done');
    await Promise.all(Array.from({ length: opts.producers }, producer));
    const finished = (await done) as number;
    return { msgsPerSec: opts.messages / ((finished - started) / 1_000) };
  } finally {
    await consumer.terminate();
    await pool.end();
  }
}

function once(worker: Worker, type: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; value?: unknown }) => {
      if (message.type !== type) return;
      worker.off('message', onMessage);
      resolve(message.value);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

const WORKER = new URL('./postgres-worker.js', import.meta.url);
