import type { ContentMode } from '@switchyard/rabbitmq';
import amqp from 'amqplib';
import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { benchServices, runFramework } from '../framework-run.js';
import { type RawWire, rawRabbitProducer } from '../raw/rabbitmq.js';

export const RABBITMQ_URL = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Deliveries unacknowledged at once, on every side. */
export const PREFETCH = 200;
/** Messages sent and not yet handled at most, on every side (1,000: the shape). */
export const WINDOW = 1_000;

/**
 * RabbitMQ on 127.0.0.1: the framework's services against raw amqplib doing
 * the same durable work in the same layout (persistent messages with the
 * framework's headers to a durable queue, one publisher confirm awaited per
 * send with up to 256 sends in flight and at most `window` messages ahead of
 * the consumer, manual acks, prefetch 200), then both at half of the
 * framework's peak rate. Targets: ratio ≥ 0.85, CPU ≤ 1.5× raw, half-load
 * p99 ≤ 10 ms and ≤ 2× raw.
 */
export async function benchRabbitmq(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 30_000;
  const window = args.window ?? WINDOW;
  const lines: BenchLine[] = [];
  // Each content mode on both sides (`--content-mode`): the raw side writes what the transport writes.
  for (const mode of args.contentModes ?? ['binary']) {
    lines.push(
      ...(await compareLayouts(
        'rabbitmq',
        { ...args, runId: `${args.runId}-${mode.slice(0, 3)}` },
        {
          framework: (run) => rabbitFrameworkRun(run, window, args.concurrency, mode),
          raw: (run) => rawRabbitRun(run, window, mode),
        },
        { messages, halfLoad: true, extra: { prefetch: PREFETCH, window, content_mode: mode } },
      )),
    );
  }
  return lines;
}

/** One framework run on RabbitMQ (consumer concurrency 64 unless given), in `contentMode`; its queues are deleted afterwards. */
export async function rabbitFrameworkRun(
  run: SideRun,
  window: number,
  concurrency = 64,
  contentMode: ContentMode = 'binary',
) {
  const url = new URL(RABBITMQ_URL);
  if (contentMode !== 'binary') url.searchParams.set('contentMode', contentMode);
  const result = await runFramework({
    url: url.toString(),
    layout: run.layout,
    messages: run.messages,
    window,
    concurrency,
    prefetch: PREFETCH,
    runId: run.tag,
    ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
  });
  await deleteRunQueues(run.tag);
  return result;
}

/** One raw amqplib run: the same loop, layout and shape as the framework's. */
export function rawRabbitRun(run: SideRun, window: number, wire: RawWire = 'binary') {
  const options = { url: RABBITMQ_URL, queue: `sy-bench-raw-${run.tag}`, prefetch: PREFETCH, wire };
  return loopSide(run, { kind: 'raw-rabbitmq', options }, () => rawRabbitProducer(options), window);
}

/**
 * Delete the durable queues a framework run declared (each service's queue and its topology
 * record), as the raw and peer sides delete theirs: the broker otherwise keeps them from run to
 * run (516 had piled up on the test machine, and the half-load p99 measured with them was longer
 * than in the runs after they were gone). Deleting a queue that is not there is not an error.
 */
async function deleteRunQueues(runId: string): Promise<void> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const service of Object.values(benchServices(runId))) {
      await channel.deleteQueue(service);
      await channel.deleteQueue(`switchyard.topology.${service}`);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}
