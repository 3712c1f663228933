import { Worker } from 'node:worker_threads';
import { createService, InMemoryDeadLetterStore, type Transport } from '@switchyard/core';
import { startBenchConsumer } from './bench-consumer.js';
import type { ConsumerRun } from './consumer-worker.js';
import { BenchCommand, benchPayload, nowMs } from './contract.js';
import { Latency } from './latency.js';
import { benchTelemetry, floorSend } from './telemetry-mode.js';

/** One framework run: end-to-end distributed commands from a producer service to a consumer service. */
export interface FrameworkRunOptions {
  /** Transport URL; required when the consumer runs in a worker thread. */
  readonly url?: string;
  /** Transport factory for in-process runs (called once per service). */
  readonly transport?: () => Transport;
  readonly messages: number;
  /** Messages sent and not yet handled, at most (closed loop). */
  readonly window: number;
  readonly concurrency: number;
  readonly prefetch?: number;
  /** Dead letters in memory on both services, for a transport that offers no durable store of its own (nothing is dead-lettered in a run). */
  readonly inMemoryDeadLetters?: boolean;
  /** Run the consumer in a worker thread: its own event loop and connection, as a separate process would have. */
  readonly consumerInWorker?: boolean;
  /** Channel suffix so runs never see each other's messages. */
  readonly runId: string;
  /** Cap the send rate (messages/s) to measure latency below peak load. */
  readonly ratePerSec?: number;
}

export interface RunResult {
  readonly msgsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerMsg: number;
}

/** The worker reports progress this often, so the producer's closed loop works across threads. */
export const PROGRESS_EVERY = 64;

/**
 * Send `messages` commands, never more than `window` ahead of the consumer,
 * and wait until all are handled. Throughput counts from the first send to the
 * last handled message; latency is send-to-handle per message (HDR
 * histogram); CPU is the whole process's user+system time, worker included,
 * per message.
 */
export async function runFramework(options: FrameworkRunOptions): Promise<RunResult> {
  const consumerName = `bench-consumer-${options.runId}`;
  const latency = new Latency();
  let handled = 0;
  const waiting: Array<() => void> = [];
  let finish: () => void = () => undefined;
  const allHandled = new Promise<void>((resolve) => (finish = resolve));
  const progress = (count: number) => {
    handled = count;
    if (waiting.length > 0 && next - handled < options.window / 2) for (const resume of waiting.splice(0)) resume();
    if (handled === options.messages) finish();
  };
  let next = 0;

  const consumer = options.consumerInWorker
    ? await startWorker(options, consumerName, progress, latency)
    : await startLocal(options, consumerName, progress, latency);
  const producer = createService({
    name: `bench-producer-${options.runId}`,
    ...transportOf(options),
    handleSignals: false,
    ...(options.inMemoryDeadLetters ? { deadLetters: new InMemoryDeadLetterStore() } : {}),
    ...benchTelemetry(),
  });
  await producer.start();

  const cpuBefore = process.cpuUsage();
  const started = nowMs();
  const sender = async () => {
    while (next < options.messages) {
      if (next - handled >= options.window) {
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      if (options.ratePerSec !== undefined) {
        const due = started + (next / options.ratePerSec) * 1_000;
        const wait = due - nowMs();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const seq = next++;
      await floorSend(() => producer.distributedBus.sendCommand(consumerName, BenchCommand, benchPayload(seq)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.window, 256) }, sender));
  await allHandled;
  const elapsedMs = nowMs() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await producer.stop();
  await consumer.stop();
  return {
    msgsPerSec: Math.round((options.messages / elapsedMs) * 1_000),
    p50Ms: round(latency.percentile(50)),
    p99Ms: round(latency.percentile(99)),
    cpuUsPerMsg: round((cpu.user + cpu.system) / options.messages),
  };
}

function transportOf(options: FrameworkRunOptions): { transport: Transport | string } {
  if (options.transport) return { transport: options.transport() };
  if (options.url) return { transport: options.url };
  throw new Error('a benchmark run needs a transport factory or a URL');
}

async function startLocal(
  options: FrameworkRunOptions,
  name: string,
  progress: (n: number) => void,
  latency: Latency,
): Promise<{ stop(): Promise<void> }> {
  let handled = 0;
  return startBenchConsumer(
    {
      name,
      ...transportOf(options),
      concurrency: options.concurrency,
      prefetch: options.prefetch,
      inMemoryDeadLetters: options.inMemoryDeadLetters,
    },
    (sentAt) => {
      latency.record(nowMs() - sentAt);
      progress(++handled);
    },
  );
}

/** The consumer thread, started once and reused by every run (see consumer-worker.ts). */
let consumerThread: Worker | undefined;

function sharedWorker(): Worker {
  if (consumerThread === undefined) {
    consumerThread = new Worker(new URL('./consumer-worker.js', import.meta.url));
    consumerThread.unref();
  }
  return consumerThread;
}

async function startWorker(
  options: FrameworkRunOptions,
  name: string,
  progress: (n: number) => void,
  latency: Latency,
): Promise<{ stop(): Promise<void> }> {
  if (options.url === undefined) throw new Error('a consumer in a worker thread needs a transport URL');
  const worker = sharedWorker();
  const ready = deferred();
  const finished = deferred();
  const onError = (error: Error) => {
    ready.reject(error);
    finished.reject(error);
  };
  const onMessage = (message: WorkerMessage) => {
    if (message.error !== undefined) onError(new Error(`bench consumer: ${message.error}`));
    if (message.ready) ready.resolve();
    if (message.handled !== undefined) progress(message.handled);
    if (message.histogram !== undefined) {
      latency.addEncoded(message.histogram);
      finished.resolve();
    }
  };
  worker.on('message', onMessage);
  worker.on('error', onError);
  const run: ConsumerRun = {
    transport: options.url,
    name,
    messages: options.messages,
    concurrency: options.concurrency,
    progressEvery: PROGRESS_EVERY,
    ...(options.prefetch ? { prefetch: options.prefetch } : {}),
    ...(options.inMemoryDeadLetters ? { inMemoryDeadLetters: true } : {}),
  };
  // Referenced while a run uses it; idle between runs, it must not keep the process alive.
  worker.ref();
  worker.postMessage(run);
  await ready.promise;
  return {
    async stop() {
      try {
        await finished.promise;
      } finally {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.unref();
      }
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failure before anyone awaits must not count as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface WorkerMessage {
  readonly ready?: true;
  readonly handled?: number;
  readonly histogram?: string;
  readonly error?: string;
}

export const round = (value: number): number => Math.round(value * 1_000) / 1_000;
