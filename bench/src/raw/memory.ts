import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchPayload } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** A bare in-process queue of encoded messages, shared by the raw memory producer and consumer. */
export class RawMemoryQueue {
  readonly items: Uint8Array[] = [];
  head = 0;
  wake: (() => void) | undefined;
}

/**
 * The in-memory baseline's consumer: dequeues, decodes and parses each
 * message and reports it, draining the queue once per event-loop turn. No
 * validation, headers, routing or acknowledgement: with the producer below
 * and the same run loop as the framework's, its CPU per message is the
 * harness's own (payload, JSON, promises, histogram), the floor the
 * framework's figure is compared with.
 */
export async function startRawMemoryConsumer(
  options: { queue: RawMemoryQueue },
  onHandled: OnHandled,
): Promise<RunningConsumer> {
  const { queue } = options;
  const decoder = new TextDecoder();
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    while (queue.head < queue.items.length) {
      const bytes = queue.items[queue.head++] as Uint8Array;
      const payload = JSON.parse(decoder.decode(bytes)) as { sentAt: number };
      onHandled(payload.sentAt);
    }
    queue.items.length = 0;
    queue.head = 0;
  };
  queue.wake = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  };
  return { stop: async () => undefined };
}

/** The in-memory baseline's producer: JSON-encodes each payload to bytes and enqueues it. */
export async function rawMemoryProducer(queue: RawMemoryQueue): Promise<BenchProducer> {
  const encoder = new TextEncoder();
  return {
    async send(seq) {
      queue.items.push(encoder.encode(JSON.stringify(benchPayload(seq))));
      queue.wake?.();
    },
    stop: async () => undefined,
  };
}
