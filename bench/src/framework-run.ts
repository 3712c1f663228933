import { createService, InMemoryDeadLetterStore, type Transport } from '@switchyard/core';
import type { BenchConsumerOptions } from './bench-consumer.js';
import { BenchCommand, benchPayload } from './contract.js';
import type { Layout } from './layout.js';
import { type RunResult, runLoop } from './run-loop.js';
import { benchTelemetry, floorSend } from './telemetry-mode.js';

export { type RunResult, round } from './run-loop.js';

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
  /** Where the consumer runs (see layout.ts); default `consumer-worker` when `consumerInWorker`, else `single-thread`. */
  readonly layout?: Layout;
  /** Shorthand for `layout: 'consumer-worker'` (kept for benches that always ran that way). */
  readonly consumerInWorker?: boolean;
  /** Channel suffix so runs never see each other's messages. */
  readonly runId: string;
  /**
   * Sends awaited at once by the producer (default `min(window, 256)`): a benchmark sets it to the
   * rows its raw baseline keeps in flight, so both producers have as many messages outstanding.
   */
  readonly senders?: number;
  /** Cap the send rate (messages/s) to measure latency below peak load. */
  readonly ratePerSec?: number;
}

/** The names of the two services of the framework run `runId` (what names their queues on a broker). */
export function benchServices(runId: string): { consumer: string; producer: string } {
  return { consumer: `bench-consumer-${runId}`, producer: `bench-producer-${runId}` };
}

/**
 * A producer service in the main thread calls `sendCommand` once per message
 * (`senders` in flight, default up to 256, at most `window` ahead of the consumer); a consumer
 * service handles them, in the main thread or in the consumer thread
 * (`layout`). See {@link runLoop} for what is measured.
 */
export function runFramework(options: FrameworkRunOptions): Promise<RunResult> {
  const layout = options.layout ?? (options.consumerInWorker ? 'consumer-worker' : 'single-thread');
  if (layout === 'consumer-worker' && options.url === undefined)
    throw new Error('a consumer in a worker thread needs a transport URL');
  const { consumer: consumerName, producer: producerName } = benchServices(options.runId);
  const consumer: BenchConsumerOptions = {
    name: consumerName,
    transport: transportOf(options),
    concurrency: options.concurrency,
    prefetch: options.prefetch,
    inMemoryDeadLetters: options.inMemoryDeadLetters,
  };
  return runLoop({
    layout,
    consumer: { kind: 'framework', options: consumer },
    messages: options.messages,
    window: options.window,
    ...(options.senders ? { senders: options.senders } : {}),
    ...(options.ratePerSec ? { ratePerSec: options.ratePerSec } : {}),
    producer: async () => {
      const producer = createService({
        name: producerName,
        transport: transportOf(options),
        handleSignals: false,
        ...(options.inMemoryDeadLetters ? { deadLetters: new InMemoryDeadLetterStore() } : {}),
        ...benchTelemetry(),
      });
      await producer.start();
      const bus = producer.distributedBus;
      return {
        send: (seq) => floorSend(() => bus.sendCommand(consumerName, BenchCommand, benchPayload(seq))),
        stop: () => producer.stop(),
      };
    },
  });
}

/** A URL crosses into the worker thread as it is; a factory makes one transport per service. */
function transportOf(options: FrameworkRunOptions): Transport | string {
  if (options.transport) return options.transport();
  if (options.url) return options.url;
  throw new Error('a benchmark run needs a transport factory or a URL');
}
