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

/**
 * The headers the framework puts on a benchmark command, for the raw
 * baselines, so both sides carry the same attributes (names and value
 * lengths) on the wire: the CloudEvents context, kind, correlation id,
 * attempt and target service of a distributed command.
 */
export function benchHeaders(id: string): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-type': 'bench.run',
    'ce-source': 'bench-producer-00000-raw',
    'ce-time': '2026-01-01T00:00:00.000Z',
    'content-type': 'application/json',
    'ce-kind': 'command',
    'ce-correlationid': id,
    'ce-attempt': '1',
    'ce-targetservice': 'bench-consumer-00000-raw',
  };
}

/**
 * What a raw baseline's consumer does with each message, the least any real
 * consumer does: read its attributes and parse its JSON payload (the
 * framework decodes both too). Returns the payload, so the work cannot be
 * optimized away.
 */
export function readRawMessage(headers: string | Readonly<Record<string, unknown>>, body: string): unknown {
  const attributes =
    typeof headers === 'string'
      ? (JSON.parse(headers) as Record<string, unknown>)
      : Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
  if (typeof attributes['ce-id'] !== 'string') throw new Error('raw baseline: a message without ce-id');
  return JSON.parse(body);
}
