import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type BenchArgs, type BenchLine, compareLayouts, DEFAULT_ROUNDS, type SideRun } from '../bench-line.js';
import type { ConsumerSpec } from '../consumer-spec.js';
import { runFramework } from '../framework-run.js';
import { type GraphileOptions, graphileProducer } from '../raw/graphile.js';
import { type RawPostgresOptions, rawPostgresProducer } from '../raw/postgres.js';
import { type BenchProducer, type RunResult, round, runLoop } from '../run-loop.js';

const URL = process.env.SWITCHYARD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * PostgreSQL on 127.0.0.1: the framework's services against a raw `pg` loop
 * doing the same durable work in the same layout and loop, then both at half
 * of the framework's peak rate; and graphile-worker doing the same job flow
 * in the same layout, after them (at most 5,000 messages per run). The shape is the transport's on every side:
 * the producer has 4 connections and its sends of one event-loop turn go out
 * as one insert of up to 500 rows, at most 4 in flight (the transport's send
 * batcher; the raw producer and graphile-worker's `add_jobs` use the same
 * batcher with the same limits); 400 sends are outstanding at once, at most
 * `window` ahead of the consumer; the consumer claims 100 rows per statement
 * (the transport's prefetch 200, claimed by halves) and deletes handled rows
 * in its next claim. Connections on the consumer side: the transport's pool
 * and its LISTEN connection; one for the raw loop (which polls an empty
 * table instead of listening); graphile-worker's own pool. A fresh schema per
 * run. Targets: ratio ≥ 0.85, ≥ 10,000 msgs/s, ahead of graphile-worker.
 */
export async function benchPostgres(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 20_000;
  const claim = 100;
  const producers = 4;
  const maxInsert = 500;
  const senders = claim * producers;
  const concurrency = args.concurrency ?? 8;
  const window = args.window ?? 2_000;
  // graphile-worker handles a few hundred jobs a second here: fewer messages keep its rounds short.
  const graphileMessages = Math.min(messages, 5_000);
  const admin = new pg.Pool({ connectionString: URL, max: 1 });
  const schemas: string[] = [];
  const schemaFor = (run: SideRun, side: string) => {
    const schema = `sy_bench_${side}_${run.tag.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(3).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const framework = (run: SideRun) =>
    runFramework({
      url: `${URL}?schema=${schemaFor(run, 'f')}&poolSize=${producers}`,
      layout: run.layout,
      messages: run.messages,
      window,
      senders,
      concurrency,
      // The consumer claims half its prefetch at a time: claims of `claim` rows.
      prefetch: claim * 2,
      // Nothing is dead-lettered in a run: in memory keeps the dead-letter table's migration out of it.
      inMemoryDeadLetters: true,
      runId: run.tag,
      ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
    });
  const loop = (run: SideRun, consumer: RunLoopConsumer) =>
    runLoop({
      layout: run.layout,
      consumer: consumer.spec,
      producer: consumer.producer,
      messages: run.messages,
      window,
      senders,
      ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
    });
  const raw = (run: SideRun) => {
    const options: RawPostgresOptions = {
      connectionString: URL,
      schema: schemaFor(run, 'r'),
      claim,
      producers,
      maxInsert,
    };
    return loop(run, { spec: { kind: 'raw-postgres', options }, producer: () => rawPostgresProducer(options) });
  };
  const graphile = (run: SideRun) => {
    const options: GraphileOptions = {
      connectionString: URL,
      schema: schemaFor(run, 'g'),
      concurrency,
      producers,
      maxInsert,
    };
    return loop(run, { spec: { kind: 'peer-graphile', options }, producer: () => graphileProducer(options) });
  };
  const lines: BenchLine[] = [];
  try {
    for (const layout of args.layouts) {
      const [line] = await compareLayouts(
        'postgres',
        { ...args, layouts: [layout] },
        { framework, raw },
        { messages, halfLoad: true, extra: { claim, producers, max_insert: maxInsert, senders, concurrency, window } },
      );
      const tag = `${args.runId}-${layout === 'single-thread' ? 's' : 'w'}-g`;
      await graphile({ layout, messages: graphileMessages, tag: `${tag}w` });
      const results: RunResult[] = [];
      for (let index = 0; index < (args.rounds ?? DEFAULT_ROUNDS); index++) {
        const result = await graphile({ layout, messages: graphileMessages, tag: `${tag}${index}` });
        console.log(
          `graphile-worker [${layout}] round ${index + 1}: ${result.msgsPerSec} msgs/s ${result.cpuUsPerMsg} µs/msg`,
        );
        results.push(result);
      }
      const median = [...results].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor((results.length - 1) / 2)];
      lines.push({
        ...(line as BenchLine),
        graphile_worker_messages: graphileMessages,
        graphile_worker_msgs_per_s: median?.msgsPerSec ?? 0,
        graphile_worker_cpu_us_per_msg: median?.cpuUsPerMsg ?? 0,
        framework_vs_graphile_worker: median ? round((line as BenchLine).framework_msgs_per_s / median.msgsPerSec) : 0,
        graphile_worker_rounds: results.map((r) => ({ msgs_per_s: r.msgsPerSec, cpu_us_per_msg: r.cpuUsPerMsg })),
      });
    }
    return lines;
  } finally {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

interface RunLoopConsumer {
  readonly spec: ConsumerSpec;
  readonly producer: () => Promise<BenchProducer>;
}
