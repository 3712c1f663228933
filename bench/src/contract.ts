import { defineCommand } from '@switchyard/core';
import { z } from 'zod';

/** The benchmark's command: a sequence number, the send time, and a realistic small body. */
export const BenchCommand = defineCommand(
  'bench.run',
  z.object({
    seq: z.number().int(),
    sentAt: z.number(),
    orderId: z.string(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number() })),
  }),
);

/** Absolute time in ms with sub-ms precision, comparable across worker threads. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The payload of message `seq`. */
export function benchPayload(seq: number) {
  return {
    seq,
    sentAt: nowMs(),
    orderId: `order-${seq}`,
    items: [
      { sku: 'apple', quantity: 2 },
      { sku: 'pear', quantity: 1 },
    ],
  };
}
