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

/**
 * The same durable work as the SQLite transport, written directly on
 * better-sqlite3 as the baseline the framework is compared with: one WAL file
 * (synchronous=NORMAL), a producer thread inserting rows (the framework's
 * CloudEvents headers as JSON, the same JSON payload as a BLOB, a UUID id,
 * visible_at) in transactions of `batch`, and a consumer thread that, in
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
  const consumer = new Worker(WORKER, { workerData: { ...opts, role: 'consumer' } });
  await once(consumer, 'ready');
  const producer = new Worker(WORKER, { workerData: { ...opts, role: 'producer' } });
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

const WORKER = new URL('./sqlite-worker.js', import.meta.url);
