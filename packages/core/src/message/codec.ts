import { ErrorCode, PoisonMessageError } from '../errors.js';
import type { TransportMessage } from '../transport/types.js';
import { type Envelope, MESSAGE_KINDS, type MessageHeaders, type MessageKind } from './envelope.js';
import { safeParseJson } from './safe-json.js';

/**
 * CloudEvents 1.0 binary content mode: attributes as `ce-*` headers, the JSON
 * payload as the body. docs/wire-format.md describes every header and holds
 * the golden vectors that `packages/core/test/wire-format.test.ts` checks.
 */

/** Attribute names core writes, in `ce-` header form. */
export const Header = {
  specversion: 'ce-specversion',
  id: 'ce-id',
  type: 'ce-type',
  source: 'ce-source',
  time: 'ce-time',
  contentType: 'content-type',
  kind: 'ce-kind',
  targetService: 'ce-targetservice',
  /** The endpoint of a plain message; the wire keeps the attribute name `channel`. */
  endpoint: 'ce-channel',
  correlationId: 'ce-correlationid',
  causationId: 'ce-causationid',
  replyTo: 'ce-replyto',
  attempt: 'ce-attempt',
  traceparent: 'ce-traceparent',
  tracestate: 'ce-tracestate',
  targetHandler: 'ce-targethandler',
  deliverAt: 'ce-deliverat',
  /** The ordering key, as the CloudEvents partitioning extension's `partitionkey` attribute. */
  orderingKey: 'ce-partitionkey',
  dataSchema: 'ce-dataschema',
} as const;

const RESERVED = new Set<string>(Object.values(Header));
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True when `name` may be used as a user metadata key (a free CloudEvents extension name). */
export function isValidMetadataKey(name: string): boolean {
  return EXTENSION_NAME.test(name) && !RESERVED.has(`ce-${name}`) && name !== 'data' && name !== 'datacontenttype';
}

/** Encode an envelope. The payload is serialized with JSON.stringify. */
export function encode(envelope: Envelope): TransportMessage {
  const h = envelope.headers;
  // Literal keys (the values of `Header`) give V8 one fast object shape for every message.
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': h.id,
    'ce-type': h.name,
    'ce-source': h.source,
    'ce-time': h.time,
    'content-type': h.contentType,
    'ce-kind': h.kind,
    'ce-correlationid': h.correlationId,
    'ce-attempt': String(h.attempt),
  };
  if (h.targetService !== undefined) headers[Header.targetService] = h.targetService;
  if (h.endpoint !== undefined) headers[Header.endpoint] = h.endpoint;
  if (h.causationId !== undefined) headers[Header.causationId] = h.causationId;
  if (h.replyTo !== undefined) headers[Header.replyTo] = h.replyTo;
  if (h.traceparent !== undefined) headers[Header.traceparent] = h.traceparent;
  if (h.tracestate !== undefined) headers[Header.tracestate] = h.tracestate;
  if (h.targetHandler !== undefined) headers[Header.targetHandler] = h.targetHandler;
  if (h.deliverAt !== undefined) headers[Header.deliverAt] = new Date(h.deliverAt).toISOString();
  if (h.orderingKey !== undefined) headers[Header.orderingKey] = h.orderingKey;
  if (h.dataSchema !== undefined) headers[Header.dataSchema] = h.dataSchema;
  for (const key in h.metadata) headers[`ce-${key}`] = h.metadata[key] as string;
  const body = encoder.encode(envelope.payload === undefined ? 'null' : JSON.stringify(envelope.payload));
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = { id: h.id, headers, body };
  if (h.orderingKey !== undefined) message.key = h.orderingKey;
  if (h.deliverAt !== undefined) message.deliverAt = h.deliverAt;
  return message;
}

/** Size in bytes of a message as a broker sees it: body plus header names and values. */
export function messageSize(message: TransportMessage): number {
  let size = message.body.byteLength;
  const headers = message.headers;
  for (const name in headers) size += name.length + (headers[name] as string).length;
  return size;
}

/**
 * Decode a received message. Never trusts its input: throws a
 * PoisonMessageError with code `SY_TOO_LARGE` over `maxBytes`, or `SY_DECODE`
 * for missing or malformed attributes and unsafe or truncated JSON.
 */
export function decode(message: TransportMessage, maxBytes: number): Envelope {
  const h = message.headers;
  let size = message.body.byteLength;
  let metadata: Record<string, string> | undefined;
  // One pass over the headers: size and user metadata.
  for (const name in h) {
    const value = h[name] as string;
    size += name.length + value.length;
    if (name.startsWith('ce-') && !RESERVED.has(name)) {
      metadata ??= {};
      metadata[name.slice(3)] = value;
    }
  }
  if (size > maxBytes) {
    throw new PoisonMessageError(ErrorCode.TooLarge, `message is ${size} bytes, over the limit of ${maxBytes}`);
  }
  const kind = h[Header.kind] ?? 'event';
  if (!MESSAGE_KINDS.includes(kind as MessageKind)) {
    throw new PoisonMessageError(ErrorCode.Decode, `unknown message kind '${kind}'`);
  }
  const attemptText = h[Header.attempt] ?? '1';
  const attempt = Number(attemptText);
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new PoisonMessageError(ErrorCode.Decode, `attempt '${attemptText}' is not a positive integer`);
  }
  const contentType = h[Header.contentType] ?? 'application/json';
  if (!contentType.includes('json')) {
    throw new PoisonMessageError(ErrorCode.Decode, `content type '${contentType}' is not JSON`);
  }
  const id = required(h, Header.id);
  const headers: { -readonly [K in keyof MessageHeaders]: MessageHeaders[K] } = {
    id,
    name: required(h, Header.type),
    kind: kind as MessageKind,
    source: h[Header.source] ?? 'unknown',
    correlationId: h[Header.correlationId] ?? id,
    time: h[Header.time] ?? new Date(0).toISOString(),
    contentType,
    attempt,
    metadata: metadata ?? NO_METADATA,
  };
  const o = h;
  if (o[Header.targetService] !== undefined) headers.targetService = o[Header.targetService];
  if (o[Header.endpoint] !== undefined) headers.endpoint = o[Header.endpoint];
  if (o[Header.causationId] !== undefined) headers.causationId = o[Header.causationId];
  if (o[Header.replyTo] !== undefined) headers.replyTo = o[Header.replyTo];
  if (o[Header.traceparent] !== undefined) headers.traceparent = o[Header.traceparent];
  if (o[Header.tracestate] !== undefined) headers.tracestate = o[Header.tracestate];
  if (o[Header.targetHandler] !== undefined) headers.targetHandler = o[Header.targetHandler];
  if (o[Header.orderingKey] !== undefined) headers.orderingKey = o[Header.orderingKey];
  if (o[Header.dataSchema] !== undefined) headers.dataSchema = o[Header.dataSchema];
  const due = o[Header.deliverAt];
  if (due !== undefined) {
    const at = Date.parse(due);
    if (Number.isNaN(at)) throw new PoisonMessageError(ErrorCode.Decode, `deliverat '${due}' is not a timestamp`);
    headers.deliverAt = at;
  }
  const text = decoder.decode(message.body);
  const payload = text.length === 0 ? undefined : safeParseJson(text);
  return { headers, payload };
}

function required(headers: Readonly<Record<string, string>>, name: string): string {
  const value = headers[name];
  if (value === undefined || value.length === 0) {
    throw new PoisonMessageError(ErrorCode.Decode, `header '${name}' is missing`);
  }
  return value;
}
