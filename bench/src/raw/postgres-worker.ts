import { parentPort, workerData } from 'node:worker_threads';
import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import { nowMs, readRawMessage } from '../contract.js';

/**
 * The consumer side of the PostgreSQL baselines (see postgres.ts), in its own thread with its
 * own connections, as the framework's consumer service has:
 * - `raw`: one `pg` connection in a loop: lease up to `batch` rows with
 *   `FOR UPDATE SKIP LOCKED` (UPDATE … RETURNING, the framework's claim without its per-key
 *   check), read each message (headers and payload JSON parsed), delete the batch; when the
 *   table is empty, poll again after 1 ms, doubling up to 50 ms. Progress goes to the producer
 *   every `progressEvery` messages, as the framework's consumer thread reports it. Session settings as the
 *   transport's consumer pool: `enable_sort=off`, `synchronous_commit=off`.
 * - `graphile`: graphile-worker's runner with a no-op task, `concurrency` jobs at once.
 * Posts `ready`, then `done` with the time the last message was handled.
 */
const options = workerData as {
  role: 'raw' | 'graphile';
  connectionString: string;
  schema: string;
  messages: number;
  batch: number;
  concurrency: number;
  /** Raw loop: post `handled` every this many messages (the producer's closed loop). */
  progressEvery: number;
};
const post = (type: string, value?: unknown) => parentPort?.postMessage({ type, value });

if (options.role === 'raw') await consumeRaw();
else await consumeGraphile();

async function consumeRaw(): Promise<void> {
  // The transport's consumer sessions, the same here: the ordered index scan (no sort) and leases
  // and deletes committed without waiting for the WAL flush (losing one only redelivers).
  const client = new pg.Client({
    connectionString: options.connectionString,
    options: '-c enable_sort=off -c synchronous_commit=off',
  });
  await client.connect();
  const table = `"${options.schema}".raw_messages`;
  const claim = {
    name: 'raw_claim',
    text: `UPDATE ${table} m SET visible_at = now() + interval '30 seconds', lease_owner = $2,
             delivery_count = m.delivery_count + 1
           FROM (SELECT seq FROM ${table} WHERE channel = 'bench' AND visible_at <= now()
                 ORDER BY visible_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED) picked
           WHERE m.seq = picked.seq RETURNING m.seq, m.headers, m.body`,
    rowMode: 'array' as const,
  };
  let handled = 0;
  let claims = 0;
  let idle = 0;
  post('ready');
  while (handled < options.messages) {
    const { rows } = await client.query<[string, string, Buffer]>({
      ...claim,
      values: [options.batch, `raw.${++claims}`],
    });
    if (rows.length === 0) {
      idle = Math.min(idle === 0 ? 1 : idle * 2, 50);
      await new Promise((resolve) => setTimeout(resolve, idle));
      continue;
    }
    idle = 0;
    for (const [, headers, body] of rows) {
      readRawMessage(headers, body.toString('utf8'));
      if (++handled % options.progressEvery === 0 || handled === options.messages) post('handled', handled);
    }
    await client.query({
      name: 'raw_delete',
      text: `DELETE FROM ${table} WHERE seq = ANY($1::bigint[])`,
      values: [rows.map((row) => row[0])],
    });
  }
  post('done', nowMs());
  await client.end();
}

async function consumeGraphile(): Promise<void> {
  let handled = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const runner = await run({
    connectionString: options.connectionString,
    schema: options.schema,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: quietLogger(),
    taskList: {
      noop: async (payload) => {
        readRawMessage({ 'ce-id': 'job' }, JSON.stringify(payload));
        if (++handled === options.messages) finish();
      },
    },
  });
  post('ready');
  await finished;
  post('done', nowMs());
  await runner.stop();
}

/** graphile-worker's logger, silenced except for errors. */
function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
}
