import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Options of {@link rawSqliteBaseline}. */
export interface RawSqliteOptions {
  /** Messages to move end to end. */
  readonly messages: number;
  /** Rows per producer transaction and per consumer claim/delete transaction. */
  readonly batch: number;
  /** Database file (created with its table if missing; the table is emptied at the start of a run). */
  readonly path: string;
}

/** Result of a run: end-to-end throughput and the 99th percentile of send-to-handled latency. */
export interface RawSqliteResult {
  readonly msgsPerSec: number;
  readonly p99Ms?: number;
}

const require = createRequire(import.meta.url);

/**
 * The same durable work as the SQLite transport, written directly on
 * better-sqlite3 as the baseline the framework is compared with: one WAL file
 * (synchronous=NORMAL), a producer thread inserting rows (headers JSON, body
 * BLOB, visible_at) in transactions of `batch`, and a consumer thread that, in
 * `BEGIN IMMEDIATE` transactions, leases up to `batch` visible rows
 * (UPDATE … RETURNING), then deletes them in one transaction. Producer and
 * consumer are separate worker threads with their own connections, so they
 * contend for the write lock as two processes would. Throughput is measured
 * from the producer's first insert to the consumer's last delete.
 */
export async function rawSqliteBaseline(opts: RawSqliteOptions): Promise<RawSqliteResult> {
  if (!Number.isInteger(opts.messages) || opts.messages < 1)
    throw new RangeError('messages must be a positive integer');
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new RangeError('batch must be a positive integer');
  const driver = require.resolve('better-sqlite3');
  const data = { ...opts, driver };
  const consumer = new Worker(CONSUMER, { eval: true, workerData: data });
  const consumerReady = once(consumer, 'ready');
  await consumerReady;
  const producer = new Worker(PRODUCER, { eval: true, workerData: data });
  let result: unknown;
  let producerStart: unknown;
  try {
    [result, producerStart] = await Promise.all([once(consumer, 'done'), once(producer, 'done')]);
  } finally {
    await Promise.all([consumer.terminate(), producer.terminate()]);
  }
  const { finished, latencies } = result as { finished: number; latencies: Float64Array };
  const sorted = Float64Array.from(latencies).sort();
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  return {
    msgsPerSec: opts.messages / ((finished - (producerStart as number)) / 1000),
    ...(p99 === undefined ? {} : { p99Ms: p99 }),
  };
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

const SETUP = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(\`CREATE TABLE IF NOT EXISTS raw_messages (
  seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, id TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
  visible_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, lease_owner TEXT);
CREATE INDEX IF NOT EXISTS raw_messages_ready ON raw_messages (channel, visible_at, seq);\`);
const now = () => performance.timeOrigin + performance.now();
`;

const PRODUCER = `${SETUP}
const insert = db.prepare('INSERT INTO raw_messages (channel, id, headers, body, visible_at) VALUES (?, ?, ?, ?, ?)');
const body = Buffer.from(JSON.stringify({ orderId: 'o-123456', amount: 42, items: ['a', 'b', 'c'] }));
const sendBatch = db.transaction((from, count) => {
  const at = Date.now();
  for (let i = from; i < from + count; i++) {
    const headers = JSON.stringify({ 'ce-id': 'id-' + i, 'ce-type': 'bench.message', 'content-type': 'application/json', 'ce-sentat': String(now()) });
    insert.run('bench', 'id-' + i, headers, body, at);
  }
});
const started = now();
parentPort.postMessage({ type: 'started', value: started });
for (let i = 0; i < workerData.messages; i += workerData.batch) sendBatch.immediate(i, Math.min(workerData.batch, workerData.messages - i));
db.close();
parentPort.postMessage({ type: 'done', value: started });
`;

const CONSUMER = `${SETUP}
const claim = db.prepare(\`UPDATE raw_messages SET visible_at = @until, lease_owner = @owner, delivery_count = delivery_count + 1
  WHERE seq IN (SELECT seq FROM raw_messages WHERE channel = 'bench' AND visible_at <= @now ORDER BY visible_at, seq LIMIT @limit)
  RETURNING seq, id, headers, body, delivery_count\`);
const remove = db.prepare('DELETE FROM raw_messages WHERE seq = ?');
const claimBatch = db.transaction((owner) => { const t = Date.now(); return claim.all({ now: t, until: t + 30000, owner, limit: workerData.batch }); });
const removeBatch = db.transaction((rows) => { for (const row of rows) remove.run(row.seq); });
// Rows left by an earlier run on the same file would be counted as this run's.
db.exec('DELETE FROM raw_messages');
const latencies = new Float64Array(workerData.messages);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let handled = 0, claims = 0, idle = 0;
parentPort.postMessage({ type: 'ready' });
while (handled < workerData.messages) {
  const rows = claimBatch.immediate('raw.' + ++claims);
  if (rows.length === 0) { idle = Math.min(idle === 0 ? 1 : idle * 2, 50); Atomics.wait(sleeper, 0, 0, idle); continue; }
  idle = 0;
  for (const row of rows) {
    const headers = JSON.parse(row.headers);
    JSON.parse(row.body.toString('utf8'));
    const sentAt = Number(headers['ce-sentat']);
    latencies[handled++] = now() - sentAt;
  }
  removeBatch.immediate(rows);
}
const finished = now();
db.close();
parentPort.postMessage({ type: 'done', value: { finished, latencies } });
`;
