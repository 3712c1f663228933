import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawSqliteProducer } from '../raw/sqlite.js';

/**
 * SQLite: durable throughput on one WAL file, producer and consumer on their
 * own connections, in the same layout and loop on both sides: the
 * framework's services against better-sqlite3 doing the same insert (group
 * commit) / claim / delete work with claims of 100. A fresh file per run.
 * Target: ≥ 10,000 msgs/s and ≥ 0.8 of raw.
 */
export async function benchSqlite(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 50_000;
  const window = args.window ?? 2_000;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  try {
    const batch = 100;
    const framework = (run: SideRun) =>
      runFramework({
        url: `sqlite:${join(dir, `${run.tag}.db`)}`,
        layout: run.layout,
        messages: run.messages,
        window,
        concurrency: args.concurrency ?? 8,
        prefetch: batch,
        runId: run.tag,
        ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
      });
    const raw = (run: SideRun) => {
      const options = { path: join(dir, `${run.tag}.db`), batch };
      return loopSide(run, { kind: 'raw-sqlite', options }, () => rawSqliteProducer(options), window);
    };
    return await compareLayouts(
      'sqlite',
      args,
      { framework, raw },
      { messages, halfLoad: true, extra: { batch, window } },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
