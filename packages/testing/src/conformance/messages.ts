import { randomUUID } from 'node:crypto';
import type { RoutedMessage, TransportMessage } from '@switchyard/core/transport';

/** What {@link testMessage} may be told; everything is optional. */
export interface TestMessageOptions {
  /** Message id (default a random UUID). */
  readonly id?: string;
  /** The `ce-type` header (default `conformance.test`). */
  readonly type?: string;
  /** Ordering key; also written to `ce-partitionkey`, as core's codec does. */
  readonly key?: string;
  /** Due time; also written to `ce-deliverat` as an ISO date, as core's codec does. */
  readonly deliverAt?: number;
  /** JSON payload (default `{ seq }`). */
  readonly payload?: unknown;
  /** Sequence number put into the default payload. */
  readonly seq?: number;
  /** Extra headers (`ce-*` names survive structured mode; others may not). */
  readonly headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A message shaped like core's codec output: CloudEvents binary headers and a
 * compact JSON body (exactly what `JSON.stringify` writes, so a transport that
 * switches to structured mode gives back the same bytes).
 */
export function testMessage(options: TestMessageOptions = {}): TransportMessage {
  const id = options.id ?? randomUUID();
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-type': options.type ?? 'conformance.test',
    'ce-source': 'switchyard-conformance',
    'content-type': 'application/json',
    ...options.headers,
  };
  if (options.key !== undefined) headers['ce-partitionkey'] = options.key;
  if (options.deliverAt !== undefined) headers['ce-deliverat'] = new Date(options.deliverAt).toISOString();
  const payload = options.payload ?? { seq: options.seq ?? 0 };
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id,
    headers,
    body: encoder.encode(JSON.stringify(payload)),
  };
  if (options.key !== undefined) message.key = options.key;
  if (options.deliverAt !== undefined) message.deliverAt = options.deliverAt;
  return message;
}

/** An event for `publish`: a {@link testMessage} whose `ce-type` is its routing key. */
export function testEvent(routingKey: string, options: TestMessageOptions = {}): RoutedMessage {
  return { ...testMessage({ ...options, type: routingKey }), routingKey };
}

/** `count` messages with `seq` 0..count-1. */
export function testMessages(
  count: number,
  options: (seq: number) => TestMessageOptions = () => ({}),
): TransportMessage[] {
  return Array.from({ length: count }, (_, seq) => testMessage({ seq, ...options(seq) }));
}

/** The JSON payload of a message made by {@link testMessage}. */
export function payloadOf(message: TransportMessage): unknown {
  return JSON.parse(decoder.decode(message.body));
}

/** The `seq` of a default payload, or -1. */
export function seqOf(message: TransportMessage): number {
  const payload = payloadOf(message) as { seq?: unknown } | null;
  return typeof payload?.seq === 'number' ? payload.seq : -1;
}
