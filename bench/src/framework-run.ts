import { Worker } from 'node:worker_threads';
import { createService, type Transport } from '@switchyard/core';
import { BenchCommand, benchPayload, nowMs } from './contract.js';
import { Latency } from './latency.js';

/** One framework run: end-to-end distributed commands from a producer service to a consumer service. */
export interface FrameworkRunOptions {
  /** Transport URL; needed when the consumer runs in a worker thread. */
  readonly url?: string;
  /** Transport factory for in-process runs (called once per service). */
  readonly transport?: () => Transport;
  readonly messages: number;
  /** Sends in flight at once. */
  readonly window: number;
  readonly concurrency: number;
  readonly prefetch?: number;
  /** Run the consumer in a worker thread (its own event loop, as a separate process would have). */
  readonly consumerInWorker?: boolean;
  /** Channel suffix so runs never see each other's messages. */
  readonly runId: string;
}

export interface RunResult {
  readonly msgsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerMsg: number;
}

/**
 * Send `messages` commands with at most `window` in flight and wait until the
 * consumer handled all of them. Throughput counts from the first send to the
 * last handled message; latency is send-to-handle per message; CPU is the
 * whole process's user+system time (workers included) per message.
 */
export async function runFramework(options: FrameworkRunOptions): Promise<RunResult> {
  const consumerName = `bench-consumer-${options.runId}`;
  const transportOption = () =>
    options.transport ? { transport: options.transport() } : { transport: options.url as string };
  const latency = new Latency();
  let handled = 0;
  let finish: () => void = () => undefined;
  const allHandled = new Promise<void>((resolve) => (finish = resolve));
  let worker: Worker | undefined;
  let consumer: ReturnType<typeof createService> | undefined;

  if (options.consumerInWorker) {
    worker = new Worker(new URL('./consumer-worker.js', import.meta.url), {
      workerData: {
        url: options.url,
        name: consumerName,
        messages: options.messages,
        concurrency: options.concurrency,
        prefetch: options.prefetch,
      },
    });
    await new Promise<void>((resolve, reject) => {
      worker?.once('message', () => resolve());
      worker?.once('error', reject);
    });
    worker.on('message', (message: { histogram: string }) => {
      latency.addEncoded(message.histogram);
      handled = options.messages;
      finish();
    });
  } else {
    consumer = createService({
      name: consumerName,
      ...transportOption(),
      concurrency: options.concurrency,
      handleSignals: false,
      ...(options.prefetch ? { prefetch: options.prefetch } : {}),
    });
    consumer.handle(
      BenchCommand,
      (command) => {
        latency.record(nowMs() - command.sentAt);
        if (++handled === options.messages) finish();
        if (waiting.length > 0 && next - handled < options.window / 2) for (const resume of waiting.splice(0)) resume();
      },
      { distributed: true },
    );
    await consumer.start();
  }

  const producer = createService({
    name: `bench-producer-${options.runId}`,
    ...transportOption(),
    handleSignals: false,
  });
  await producer.start();
  const cpuBefore = process.cpuUsage();
  const started = nowMs();
  // Closed loop: at most `window` messages sent and not yet handled, so latency measures the pipeline, not an ever-growing queue.
  let next = 0;
  const waiting: Array<() => void> = [];
  const sender = async () => {
    while (next < options.messages) {
      if (!options.consumerInWorker && next - handled >= options.window) {
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      const seq = next++;
      await producer.distributedBus.sendCommand(consumerName, BenchCommand, benchPayload(seq));
    }
  };
  await Promise.all(Array.from({ length: options.window }, sender));
  await allHandled;
  const elapsedMs = nowMs() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await producer.stop();
  await consumer?.stop();
  await worker?.terminate();
  return {
    msgsPerSec: Math.round((handled / elapsedMs) * 1_000),
    p50Ms: round(latency.percentile(50)),
    p99Ms: round(latency.percentile(99)),
    cpuUsPerMsg: round((cpu.user + cpu.system) / handled),
  };
}

export const round = (value: number): number => Math.round(value * 1_000) / 1_000;
