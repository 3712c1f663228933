import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS, legacyRaw } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { graphileWorkerBaseline, rawPostgresBaseline } from '../raw/postgres.js';

const URL = process.env.SWITCHYARD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * PostgreSQL on 127.0.0.1: the framework's services (producer in this thread, consumer in a
 * worker thread) against a raw `pg` loop doing the same durable work (batched inserts, SKIP
 * LOCKED claims of `batch` rows, deletes; producer here, consumer in a worker thread), and
 * graphile-worker doing the same job flow (jobs added in batches, a no-op task, the same
 * concurrency), in the same run. Connections: 4 for the producer on every side (the transport's
 * pool has 4, its send batcher keeps at most 4 inserts in flight); the consumer side has the
 * transport's pool (claims, acks) and its LISTEN connection, one connection for the raw loop,
 * graphile-worker's own pool. Flow: framework and raw loop run the same closed loop (at most
 * `window` messages sent and not handled; the consumer thread posts progress every 64), and the
 * framework's producer keeps `batch × producers` sends outstanding, the rows the raw producers
 * keep in flight; its send batcher puts the sends of one turn in one insert (up to 500 rows).
 * Targets: ratio ≥ 0.85, ≥ 10,000 msgs/s, ahead of graphile-worker.
 */
export async function benchPostgres(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 20_000;
  const batch = 100;
  const producers = 4;
  const concurrency = args.concurrency ?? 8;
  // Both sides run the same closed loop: at most `window` messages sent and not yet handled.
  const window = args.window ?? 2_000;
  const admin = new pg.Pool({ connectionString: URL, max: 1 });
  const schemas: string[] = [];
  const schemaFor = (label: string) => {
    const schema = `sy_bench_${label}_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  try {
    const frameworkRun = (n: number, label: string) =>
      runFramework({
        url: `${URL}?schema=${schemaFor(label)}&poolSize=${producers}`,
        consumerInWorker: true,
        messages: n,
        window,
        // As many sends outstanding as the raw producers keep rows in flight (4 statements of 100).
        senders: batch * producers,
        concurrency,
        // The consumer claims half its prefetch at a time: claims of `batch` rows, as on the raw side.
        prefetch: batch * 2,
        // Nothing is dead-lettered in a run: in memory keeps the dead-letter table's migration out of it.
        inMemoryDeadLetters: true,
        runId: `${args.runId}-${label}`,
      });
    const baseline = (label: string) => ({
      connectionString: URL,
      schema: schemaFor(label),
      messages,
      batch,
      producers,
      concurrency,
      window,
    });
    const raw = (label: string) => rawPostgresBaseline(baseline(label));
    const graphile = (label: string) => graphileWorkerBaseline(baseline(label));
    // Warm every side first (JIT, connections, the database's caches), so none pays for running first.
    await frameworkRun(messages, 'warm');
    await raw('rawwarm');
    await graphile('gwwarm');
    const {
      framework,
      raw: rawResult,
      rounds,
    } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (round) => frameworkRun(messages, `f${round}`),
      (round) => legacyRaw(messages, () => raw(`r${round}`)),
    );
    const graphileRounds: number[] = [];
    for (let round = 0; round < (args.rounds ?? DEFAULT_ROUNDS); round++) {
      const result = await graphile(`g${round}`);
      graphileRounds.push(Math.round(result.msgsPerSec));
      console.log(`graphile-worker round ${round + 1}: ${Math.round(result.msgsPerSec)} msgs/s`);
    }
    const sorted = [...graphileRounds].sort((a, b) => a - b);
    const graphileMedian = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    return benchLine('postgres', 'consumer-worker', messages, framework, rawResult, {
      batch,
      producers,
      concurrency,
      graphile_worker_msgs_per_s: graphileMedian,
      graphile_worker_rounds: graphileRounds,
      rounds,
    });
  } finally {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
}
