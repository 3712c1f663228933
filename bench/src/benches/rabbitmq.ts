import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawRabbitBaseline } from '../raw/rabbitmq.js';

const URL = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * RabbitMQ on 127.0.0.1: the framework's services against raw amqplib doing
 * the same durable work (persistent messages to a durable queue, publisher
 * confirms, manual acks, prefetch 200), in the same run. Then the p99 at half
 * of the framework's peak rate. Target: ratio ≥ 0.9.
 */
export async function benchRabbitmq(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 30_000;
  const prefetch = 200;
  const run = (ratePerSec?: number, suffix = 'peak') =>
    runFramework({
      url: URL,
      consumerInWorker: true,
      messages,
      window: args.window ?? 2_000,
      concurrency: args.concurrency ?? 64,
      prefetch,
      runId: `${args.runId}-${suffix}`,
      ...(ratePerSec ? { ratePerSec } : {}),
    });
  // Warm both sides first (JIT, connections), so neither pays for running first.
  await runFramework({
    url: URL,
    consumerInWorker: true,
    messages: 2_000,
    window: 500,
    concurrency: 64,
    prefetch,
    runId: `${args.runId}-warm`,
  });
  await rawRabbitBaseline({ url: URL, messages: 2_000, confirmEvery: 1_000, prefetch });
  const { framework, raw, rounds } = await alternate(
    args.rounds ?? DEFAULT_ROUNDS,
    (round) => run(undefined, `peak${round}`),
    () => rawRabbitBaseline({ url: URL, messages, confirmEvery: 1_000, prefetch }),
  );
  const half = await run(Math.round(framework.msgsPerSec / 2), 'half');
  console.log(
    `rabbitmq at half of peak (${Math.round(framework.msgsPerSec / 2)} msgs/s): p50 ${half.p50Ms} ms, p99 ${half.p99Ms} ms`,
  );
  return benchLine('rabbitmq', messages, framework, raw, {
    prefetch,
    half_load_p50_ms: half.p50Ms,
    half_load_p99_ms: half.p99Ms,
    rounds,
  });
}
