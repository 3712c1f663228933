import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawRedisBaseline } from '../raw/redis.js';

const URL = process.env.SWITCHYARD_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Redis Streams on 127.0.0.1: the framework's services against raw ioredis
 * XADD (pipelined) / XREADGROUP / XACK with batches of 500, in the same run.
 * Target: ratio ≥ 0.85.
 */
export async function benchRedis(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 100_000;
  const batch = 500;
  const frameworkRun = (n: number, suffix: string) =>
    runFramework({
      url: URL,
      consumerInWorker: true,
      messages: n,
      window: args.window ?? 4_000,
      concurrency: args.concurrency ?? 64,
      prefetch: batch,
      runId: `${args.runId}-${suffix}`,
    });
  // Warm both sides first (JIT, connections, scripts), so neither pays for running first.
  // A full-size run each: after 5,000 messages the first measured rounds were still ~10% slower.
  await frameworkRun(messages, 'warm');
  await rawRedisBaseline({ url: URL, messages, batch });
  const { framework, raw, rounds } = await alternate(
    args.rounds ?? DEFAULT_ROUNDS,
    (round) => frameworkRun(messages, `main${round}`),
    () => rawRedisBaseline({ url: URL, messages, batch }),
  );
  return benchLine('redis', messages, framework, raw, { batch, rounds });
}
