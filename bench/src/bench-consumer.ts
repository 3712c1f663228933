import { createService, InMemoryDeadLetterStore, type Transport } from '@switchyard/core';
import type { OnHandled, RunningConsumer } from './consumer-spec.js';
import { BenchCommand } from './contract.js';
import { benchTelemetry, floorHandle } from './telemetry-mode.js';

/** How the benchmark's consumer service is built, in the main thread or in the consumer thread. */
export interface BenchConsumerOptions {
  readonly name: string;
  readonly transport: Transport | string;
  readonly concurrency: number;
  readonly prefetch?: number | undefined;
  /** Dead letters in memory, for a transport that offers no durable store of its own (nothing is dead-lettered in a run). */
  readonly inMemoryDeadLetters?: boolean | undefined;
}

/**
 * Create and start the consumer service of a run: one distributed handler of
 * `BenchCommand` that calls `onHandled` with each command's send time.
 * Resolves once the service consumes; the caller stops it.
 */
export async function startBenchConsumer(
  options: BenchConsumerOptions,
  onHandled: OnHandled,
): Promise<RunningConsumer> {
  const consumer = createService({
    name: options.name,
    transport: options.transport,
    concurrency: options.concurrency,
    handleSignals: false,
    ...benchTelemetry(),
    ...(options.prefetch ? { prefetch: options.prefetch } : {}),
    ...(options.inMemoryDeadLetters ? { deadLetters: new InMemoryDeadLetterStore() } : {}),
  });
  consumer.handle(BenchCommand, (command) => floorHandle(() => onHandled(command.sentAt)), { distributed: true });
  await consumer.start();
  return consumer;
}
