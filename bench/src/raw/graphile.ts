import { SendBatcher } from '@switchyard/core/transport';
import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchPayload, readRawMessage } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the graphile-worker peer. */
export interface GraphileOptions {
  readonly connectionString: string;
  /** graphile-worker's schema, a fresh one per run (installed by the runner, dropped by the caller). */
  readonly schema: string;
  /** Jobs run at once. */
  readonly concurrency: number;
  /** Producer connections, and `add_jobs` calls in flight at once. */
  readonly producers: number;
  /** Jobs per `add_jobs` call at most. */
  readonly maxInsert: number;
}

/**
 * graphile-worker's runner on the run's schema (installed before it resolves)
 * with one task, a no-op that reads its payload as the raw consumers read a
 * message; `concurrency` jobs at once, woken by its own LISTEN/NOTIFY.
 */
export async function startGraphileConsumer(options: GraphileOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const runner = await run({
    connectionString: options.connectionString,
    schema: options.schema,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: quietLogger(),
    taskList: {
      noop: async (payload) => {
        onHandled((readRawMessage({ 'ce-id': 'job' }, JSON.stringify(payload)) as { sentAt: number }).sentAt);
      },
    },
  });
  return { stop: () => runner.stop() };
}

/**
 * graphile-worker's bulk API as the producer: the sends of one event-loop turn
 * become one `add_jobs` call of up to `maxInsert` jobs, at most `producers`
 * calls in flight (the same batch shape as the PostgreSQL transport's sends).
 */
export async function graphileProducer(options: GraphileOptions): Promise<BenchProducer> {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.producers });
  const add = `SELECT "${options.schema}".add_jobs(ARRAY(
      SELECT ROW('noop', p, NULL, NULL, NULL, NULL, NULL, NULL)::"${options.schema}".job_spec
      FROM json_array_elements($1::json) AS p))`;
  const batcher = new SendBatcher<number>(
    async (seqs) => void (await pool.query(add, [JSON.stringify(seqs.map(benchPayload))])),
    { maxBatch: options.maxInsert, maxInFlight: Math.max(1, Math.min(4, options.producers)) },
  );
  return {
    send: (seq) => batcher.submit([seq]),
    async stop() {
      await pool.end();
    },
  };
}

/** graphile-worker's logger, silenced except for errors. */
function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
}
