import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawRedisProducer } from '../raw/redis.js';

const URL = process.env.SWITCHYARD_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Redis Streams on 127.0.0.1: the framework's services against raw ioredis in
 * the same layout and loop (one XADD per send, up to 256 in flight;
 * XREADGROUP of 500, XACK + XDEL per read batch). Target: ratio ≥ 0.85.
 */
export async function benchRedis(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 50_000;
  const batch = 500;
  const window = args.window ?? 4_000;
  const framework = (run: SideRun) =>
    runFramework({
      url: URL,
      layout: run.layout,
      messages: run.messages,
      window,
      concurrency: args.concurrency ?? 64,
      prefetch: batch,
      runId: run.tag,
      ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
    });
  const raw = (run: SideRun) => {
    const options = { url: URL, key: `sy-bench:raw:${run.tag}`, batch };
    return loopSide(run, { kind: 'raw-redis', options }, () => rawRedisProducer(options), window);
  };
  return compareLayouts('redis', args, { framework, raw }, { messages, halfLoad: true, extra: { batch, window } });
}
