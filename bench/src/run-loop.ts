import { Worker } from 'node:worker_threads';
import { type ConsumerSpec, type RunningConsumer, startConsumer } from './consumer-spec.js';
import type { ConsumerRun } from './consumer-worker.js';
import { nowMs } from './contract.js';
import { Latency } from './latency.js';
import type { Layout } from './layout.js';
import { machineBusyMicros } from './machine-cpu.js';
import { telemetryMode } from './telemetry-mode.js';

/** The sending half of a run, in the main thread: `send` resolves once the message is durably accepted. */
export interface BenchProducer {
  send(seq: number): Promise<void>;
  stop(): Promise<void>;
}

/** One run of one side (framework, raw baseline or a peer); the loop is the same for all of them. */
export interface LoopOptions {
  readonly layout: Layout;
  readonly consumer: ConsumerSpec;
  /** Started after the consumer is ready. */
  readonly producer: () => Promise<BenchProducer>;
  readonly messages: number;
  /** Messages sent and not yet handled, at most (closed loop). */
  readonly window: number;
  /** Concurrent `send` calls at most; default min(window, 256). */
  readonly senders?: number;
  /** Cap the send rate (messages/s) to measure latency below peak load. */
  readonly ratePerSec?: number;
}

export interface RunResult {
  readonly msgsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerMsg: number;
  /**
   * Busy CPU of the whole machine per message over the same interval (every process: the broker's
   * work on this machine included, and anything else running); absent where `/proc/stat` is missing.
   */
  readonly machineCpuUsPerMsg?: number;
}

/** The worker reports progress this often, so the producer's closed loop works across threads. */
export const PROGRESS_EVERY = 64;

/**
 * Send `messages` messages from up to `senders` concurrent senders, never more
 * than `window` ahead of the consumer, and wait until all are handled.
 * Throughput counts from the first send to the last handled message; latency
 * is send-to-handle per message (HDR histogram); CPU is the whole process's
 * user+system time (every thread) per message, over the same interval, and
 * the machine's busy time per message next to it (see machine-cpu.ts).
 */
export async function runLoop(options: LoopOptions): Promise<RunResult> {
  const latency = new Latency();
  let handled = 0;
  let next = 0;
  const waiting: Array<() => void> = [];
  let finish: () => void = () => undefined;
  const allHandled = new Promise<void>((resolve) => (finish = resolve));
  const progress = (count: number) => {
    handled = count;
    if (waiting.length > 0 && next - handled < options.window / 2) for (const resume of waiting.splice(0)) resume();
    if (handled === options.messages) finish();
  };

  const consumer =
    options.layout === 'consumer-worker'
      ? await startInWorker(options, progress, latency)
      : await startHere(options.consumer, progress, latency);
  let producer: BenchProducer | undefined;
  try {
    producer = await options.producer();
    const send = producer.send.bind(producer);
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineBusyMicros();
    const started = nowMs();
    const sender = async () => {
      while (next < options.messages) {
        if (next - handled >= options.window) {
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        // The sequence number is taken before waiting for its turn: taken after, every idle sender
        // waited for the same due time and they all sent at once, a burst of `senders` messages
        // whose queueing was most of the latency measured below peak.
        const seq = next++;
        if (options.ratePerSec !== undefined) {
          const due = started + (seq / options.ratePerSec) * 1_000;
          const wait = due - nowMs();
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await send(seq);
      }
    };
    const senders = options.senders ?? Math.min(options.window, 256);
    await Promise.all(Array.from({ length: senders }, sender));
    await allHandled;
    const elapsedMs = nowMs() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const machineAfter = machineBusyMicros();
    await producer.stop();
    producer = undefined;
    await consumer.stop();
    return {
      msgsPerSec: Math.round((options.messages / elapsedMs) * 1_000),
      p50Ms: round(latency.percentile(50)),
      p99Ms: round(latency.percentile(99)),
      cpuUsPerMsg: round((cpu.user + cpu.system) / options.messages),
      ...(machineBefore !== undefined && machineAfter !== undefined
        ? { machineCpuUsPerMsg: round((machineAfter - machineBefore) / options.messages) }
        : {}),
    };
  } finally {
    await producer?.stop().catch(() => undefined);
  }
}

async function startHere(
  spec: ConsumerSpec,
  progress: (n: number) => void,
  latency: Latency,
): Promise<RunningConsumer> {
  let handled = 0;
  return startConsumer(spec, (sentAt) => {
    latency.record(nowMs() - sentAt);
    progress(++handled);
  });
}

/** The consumer thread, started once and reused by every run (see consumer-worker.ts). */
let consumerThread: Worker | undefined;

function sharedWorker(): Worker {
  if (consumerThread === undefined) {
    // The same telemetry mode as this thread: the SDK is installed per thread, and without it the
    // consumer thread's services ran untraced in `--telemetry sdk` (only the producer was traced).
    consumerThread = new Worker(new URL('./consumer-worker.js', import.meta.url), {
      workerData: { telemetry: telemetryMode() },
    });
    consumerThread.unref();
  }
  return consumerThread;
}

async function startInWorker(
  options: LoopOptions,
  progress: (n: number) => void,
  latency: Latency,
): Promise<RunningConsumer> {
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
  const run: ConsumerRun = { spec: options.consumer, messages: options.messages, progressEvery: PROGRESS_EVERY };
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
