import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawSqliteBaseline } from '../raw/sqlite.js';

/**
 * SQLite: cross-thread durable throughput on one WAL file. The framework's
 * producer service sends from the main thread, its consumer service runs in a
 * worker thread with its own connection; the raw loop is better-sqlite3 doing
 * the same insert / claim / delete work in the same transaction sizes, also
 * producer and consumer on separate threads. Target: ≥ 10,000 msgs/s and ≥ 0.8 of raw.
 */
export async function benchSqlite(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 50_000;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  try {
    const batch = 100;
    const frameworkRun = (n: number, file: string) =>
      runFramework({
        url: `sqlite:${join(dir, file)}`,
        consumerInWorker: true,
        messages: n,
        window: args.window ?? 2_000,
        concurrency: args.concurrency ?? 8,
        prefetch: batch,
        runId: `${args.runId}-${file}`,
      });
    // Warm both sides first (JIT, page cache), so neither pays for running first.
    // A full-size run each: after 5,000 messages the first measured round was still the slowest.
    await frameworkRun(messages, 'warm.db');
    await rawSqliteBaseline({ messages, batch, path: join(dir, 'raw-warm.db') });
    const { framework, raw, rounds } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (round) => frameworkRun(messages, `framework-${round}.db`),
      (round) => rawSqliteBaseline({ messages, batch, path: join(dir, `raw-${round}.db`) }),
    );
    return benchLine('sqlite', messages, framework, raw, { batch, rounds });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
