import { ErrorCode, PoisonMessageError } from '../errors.js';
import type { TransportMessage } from '../transport/types.js';
import { type Envelope, MESSAGE_KINDS, type MessageHeaders, type MessageKind } from './envelope.js';
import { safeParseJson } from './safe-json.js';
import { parseStructured } from './structured.js';
import { utf8Bytes } from './utf8-bytes.js';

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
/** Fatal: invalid UTF-8 is refused, never patched with replacement characters. */
const decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * The last `ce-time` that parsed: messages sent in the same millisecond carry
 * the same text, so a busy consumer parses each distinct time once.
 */
let lastValidTime: string | undefined;

/** The one CloudEvents version this codec reads and writes. */
export const SPEC_VERSION = '1.0';

/** Content type of a structured-mode CloudEvent (the whole event as one JSON document). */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';
/** Content type of a CloudEvents batch (several structured events in one JSON array). */
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

/** A metadata key in another system's form (camelCase, dotted, dashed), carried as a header of its own name. */
const HEADER_KEY = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;
/** Header names that belong to a binding, a broker or a transport, never to user metadata. */
const NOT_METADATA = /^(ce[-_]|cloudevents[:_]|x-|sy-|content-type$)/i;

/**
 * True when `name` may be used as a user metadata key. Two forms:
 * - a free CloudEvents extension name (1–20 lowercase letters or digits):
 *   travels as the attribute `ce-<name>`;
 * - any other name of letters, digits, `.`, `_` and `-` (up to 100, starting
 *   with a letter), e.g. `tenantId` or `trace.id`: travels as a header of
 *   exactly that name, so other systems' keys keep their form. Names of
 *   binding, broker or transport headers (`ce-`, `ce_`, `cloudEvents:`,
 *   `cloudEvents_`, `x-`, `sy-`, `content-type`) are refused.
 */
export function isValidMetadataKey(name: string): boolean {
  if (EXTENSION_NAME.test(name)) {
    return !RESERVED.has(`ce-${name}`) && name !== 'data' && name !== 'datacontenttype' && name !== 'specversion';
  }
  return HEADER_KEY.test(name) && !NOT_METADATA.test(name);
}

/** The metadata key a received header carries, or undefined when it carries none. */
function metadataKeyOf(name: string): string | undefined {
  if (name.startsWith('ce-')) return RESERVED.has(name) ? undefined : name.slice(3);
  // Every message has a content type: skip the three pattern tests for it.
  if (name === 'content-type') return undefined;
  return !EXTENSION_NAME.test(name) && HEADER_KEY.test(name) && !NOT_METADATA.test(name) ? name : undefined;
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
    'ce-attempt': h.attempt === 1 ? '1' : String(h.attempt),
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
  for (const key in h.metadata) headers[EXTENSION_NAME.test(key) ? `ce-${key}` : key] = h.metadata[key] as string;
  const body = utf8Bytes(envelope.payload === undefined ? 'null' : JSON.stringify(envelope.payload));
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
 * for missing or malformed attributes, a body that is not UTF-8, and unsafe or
 * truncated JSON.
 *
 * Required (CloudEvents 1.0 requires them): `ce-specversion` (exactly `1.0`),
 * `ce-id`, `ce-type`, `ce-source`. Defaulted when absent: `ce-time` (the
 * receive time, `receivedAt`), `content-type` (`application/json`), `ce-kind`
 * (`command` when `ce-targetservice` is present, else `event`), `ce-correlationid` (the id), `ce-attempt` (1).
 *
 * A message whose `content-type` is `application/cloudevents+json` is a
 * structured-mode event: its attributes come from the JSON document, and any
 * `ce-*` header of the message itself (a retry's attempt or target handler)
 * overrides the attribute of the same name. A batch
 * (`application/cloudevents-batch+json`) is split before decoding (see
 * `runtime/batch.ts`); one that reaches here is not a JSON array of events
 * and is refused with `SY_DECODE`.
 */
export function decode(message: TransportMessage, maxBytes: number, receivedAt: number = Date.now()): Envelope {
  let h = message.headers;
  const type = h[Header.contentType];
  const cloudEvents = type?.startsWith('application/cloudevents') === true;
  // One pass over the headers for the size and, in binary mode (nearly every message), the metadata.
  let size = message.body.byteLength;
  let metadata: Record<string, string> | undefined;
  for (const name in h) {
    const value = h[name] as string;
    size += name.length + value.length;
    if (cloudEvents) continue;
    const key = metadataKeyOf(name);
    if (key !== undefined) {
      metadata ??= {};
      metadata[key] = value;
    }
  }
  if (size > maxBytes) {
    throw new PoisonMessageError(ErrorCode.TooLarge, `message is ${size} bytes, over the limit of ${maxBytes}`);
  }
  // The payload: parsed from `body`, or (structured mode) the document's `data` as already parsed.
  let body: Uint8Array | undefined = message.body;
  let data: unknown;
  if (cloudEvents) {
    const expanded = expandStructured(message, type as string);
    if (expanded !== undefined) ({ headers: h, body, data } = expanded);
    for (const name in h) {
      const key = metadataKeyOf(name);
      if (key !== undefined) {
        metadata ??= {};
        metadata[key] = h[name] as string;
      }
    }
  }
  const specversion = h[Header.specversion];
  if (specversion !== SPEC_VERSION) {
    throw new PoisonMessageError(
      ErrorCode.Decode,
      specversion === undefined
        ? `header '${Header.specversion}' is missing`
        : `CloudEvents specversion '${specversion}' is not supported (only ${SPEC_VERSION})`,
    );
  }
  const kind = h[Header.kind] ?? (h[Header.targetService] === undefined ? 'event' : 'command');
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
  const name = required(h, Header.type);
  const source = required(h, Header.source);
  const time = h[Header.time];
  if (time !== undefined && time !== lastValidTime) {
    if (Number.isNaN(Date.parse(time))) {
      throw new PoisonMessageError(ErrorCode.Decode, `time '${time}' is not an RFC 3339 timestamp`);
    }
    lastValidTime = time;
  }
  const headers: { -readonly [K in keyof MessageHeaders]: MessageHeaders[K] } = {
    id,
    name,
    kind: kind as MessageKind,
    source,
    correlationId: h[Header.correlationId] ?? id,
    time: time ?? new Date(receivedAt).toISOString(),
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
  if (body === undefined) return { headers, payload: data };
  const text = utf8(body);
  const payload = text.length === 0 ? undefined : safeParseJson(text);
  return { headers, payload };
}

/** `bytes` as text; a PoisonMessageError (`SY_DECODE`) when they are not valid UTF-8. */
export function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new PoisonMessageError(ErrorCode.Decode, 'body is not valid UTF-8', { cause: error });
  }
}

/**
 * A structured-mode message's headers, the message's own `ce-*` headers
 * winning over the document's, and its data (see `parseStructured`);
 * undefined for another `application/cloudevents` type, read as binary mode.
 */
function expandStructured(
  message: TransportMessage,
  contentType: string,
): { headers: Record<string, string>; data: unknown; body: Uint8Array | undefined } | undefined {
  if (contentType.startsWith(BATCH_CONTENT_TYPE)) {
    throw new PoisonMessageError(
      ErrorCode.Decode,
      `a CloudEvents batch (${BATCH_CONTENT_TYPE}) must be a JSON array of structured events`,
    );
  }
  if (!contentType.startsWith(STRUCTURED_CONTENT_TYPE)) return undefined;
  const structured = parseStructured(message.body);
  const headers = structured.headers;
  for (const name in message.headers) {
    if (name.startsWith('ce-')) headers[name] = message.headers[name] as string;
  }
  return { headers, data: structured.data, body: structured.body };
}

function required(headers: Readonly<Record<string, string>>, name: string): string {
  const value = headers[name];
  if (value === undefined || value.length === 0) {
    throw new PoisonMessageError(ErrorCode.Decode, `header '${name}' is missing`);
  }
  return value;
}
