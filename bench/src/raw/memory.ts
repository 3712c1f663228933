import { benchPayload, nowMs } from '../contract.js';
import { Latency } from '../latency.js';

/**
 * The in-memory baseline: a bare queue of the same encoded bytes. The
 * producer JSON-encodes each payload to bytes and enqueues it; the consumer
 * dequeues, decodes and parses it, and records its latency. No validation,
 * headers, routing or acknowledgement: the floor the framework is measured against.
 */
export async function rawMemoryBaseline(opts: { messages: number }): Promise<{ msgsPerSec: number; p99Ms: number }> {
  const queue: Uint8Array[] = [];
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const latency = new Latency();
  let head = 0;
  let handled = 0;
  const started = nowMs();
  while (handled < opts.messages) {
    for (let i = 0; i < 1_000 && queue.length < opts.messages; i++)
      queue.push(encoder.encode(JSON.stringify(benchPayload(queue.length))));
    while (head < queue.length) {
      const payload = JSON.parse(decoder.decode(queue[head++])) as { sentAt: number };
      latency.record(nowMs() - payload.sentAt);
      handled++;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { msgsPerSec: Math.round((handled / (nowMs() - started)) * 1_000), p99Ms: latency.percentile(99) };
}
