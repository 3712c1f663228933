import {
  coreHeaderName,
  type EndpointMessage,
  isStructuredContentType,
  readEcotoneWire,
  STRUCTURED_CONTENT_TYPE,
  type TransportMessage,
  toEcotoneHeaders,
  toStructured,
  type WireForm,
} from '@switchyard/core/transport';
import type { Message, Options } from 'amqplib';

/**
 * Mapping between a {@link TransportMessage} and AMQP 0-9-1 properties.
 *
 * - `ce-*` headers travel unchanged as AMQP header table entries (the HTTP
 *   binding's names; see docs/transports/rabbitmq.md for why not the
 *   `cloudEvents:` prefix of the AMQP 1.0 binding). On receive, the AMQP
 *   binding's `cloudEvents_*` and `cloudEvents:*` names (and the Kafka
 *   binding's `ce_*`) are read as their `ce-*` form; when both forms of one
 *   attribute are present, `ce-*` wins.
 * - `content-type` travels as the AMQP `content_type` property.
 * - `id` is the AMQP `message_id`; `timestamp` is the send time in seconds.
 * - Everything is persistent (delivery mode 2).
 * - In binary mode, `ce-attempt`, `ce-correlationid` and `ce-kind` stay out of
 *   the table when they hold their default (see `isDefault` below); `fromAmqp`
 *   restores them.
 * - Header names starting with `x-` and the transport's own `sy-*` headers
 *   are broker/transport bookkeeping and are not handed to core.
 */

/** Transport-internal header names; stripped on receive. */
export const InternalHeader = {
  /** Ordering key of the message (`TransportMessage.key`). */
  key: 'sy-key',
  /** `TransportMessage.deliverAt`, epoch ms. */
  deliverAt: 'sy-deliverat',
  /** Deliveries before a delayed redelivery, so `deliveryCount` keeps counting across a delayed nack. */
  deliveries: 'sy-deliveries',
  /** Delay bucket (ms) a delayed message is parked for; the delay exchange routes on it. */
  delay: 'sy-delay',
  /** `direct` (back to a queue) or `event` (back to the topic exchange) for a delayed message. */
  route: 'sy-route',
} as const;

const CONTENT_TYPE = 'content-type';

/** A Buffer view of `body` without copying. */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * AMQP publish options for `message`; `extraHeaders` are added to the header table.
 * `wire`: the transport's form, overridden by the message's own `wire` (a service map entry's).
 */
export function publishOptions(
  message: TransportMessage,
  mandatory: boolean,
  extraHeaders?: Readonly<Record<string, string | number>>,
  wire: WireForm = 'cloudevents',
): Options.Publish {
  const headers: Record<string, string | number> = {};
  const source = message.headers;
  const contentType = source[CONTENT_TYPE];
  const compact = isCompactable(source, contentType);
  for (const name in source) {
    if (name === CONTENT_TYPE) continue;
    const value = source[name] as string;
    if (compact && isDefault(source, name, value)) continue;
    headers[name] = value;
  }
  if ((message.wire ?? wire) === 'ecotone') Object.assign(headers, toEcotoneHeaders(message.headers));
  if (message.key !== undefined) headers[InternalHeader.key] = message.key;
  if (message.deliverAt !== undefined) headers[InternalHeader.deliverAt] = message.deliverAt;
  if (extraHeaders) Object.assign(headers, extraHeaders);
  return {
    persistent: true,
    mandatory,
    messageId: message.id,
    contentType,
    timestamp: Math.floor(Date.now() / 1000),
    headers,
  };
}

/**
 * CloudEvents content mode of what the transport writes: `binary` (the
 * attributes as `ce-*` header table entries, the payload as the body) or
 * `structured` (the whole event as one `application/cloudevents+json`
 * document, only the transport's own `sy-*` headers in the table).
 */
export type ContentMode = 'binary' | 'structured';

/**
 * Body and publish options for `message` in `mode`. Structured mode applies to
 * CloudEvents messages only: a message written in Ecotone's form, or one that
 * is structured already (its body is the document), goes out as binary mode
 * would send it.
 */
export function toAmqp(
  message: TransportMessage,
  mandatory: boolean,
  extraHeaders: Readonly<Record<string, string | number>> | undefined,
  wire: WireForm,
  mode: ContentMode,
): { body: Buffer; options: Options.Publish } {
  if (
    mode === 'binary' ||
    (message.wire ?? wire) === 'ecotone' ||
    isStructuredContentType(message.headers[CONTENT_TYPE])
  ) {
    return { body: toBuffer(message.body), options: publishOptions(message, mandatory, extraHeaders, wire) };
  }
  let headers: Record<string, string | number> | undefined;
  if (message.key !== undefined || message.deliverAt !== undefined || extraHeaders !== undefined) {
    headers = {};
    if (message.key !== undefined) headers[InternalHeader.key] = message.key;
    if (message.deliverAt !== undefined) headers[InternalHeader.deliverAt] = message.deliverAt;
    if (extraHeaders) Object.assign(headers, extraHeaders);
  }
  const options: Options.Publish = {
    persistent: true,
    mandatory,
    messageId: message.id,
    contentType: STRUCTURED_CONTENT_TYPE,
    timestamp: Math.floor(Date.now() / 1000),
  };
  // No table at all rather than an empty one: amqplib skips encoding it, and the frame is 4 bytes shorter.
  if (headers !== undefined) options.headers = headers;
  return { body: toBuffer(toStructured(message)), options };
}

/** AMQP publish options for a raw message: its headers as given, `content-type` as the property, persistent, `mandatory` as asked. */
export function rawPublishOptions(message: EndpointMessage): Options.Publish {
  const { [CONTENT_TYPE]: contentType, ...headers } = message.headers;
  return {
    persistent: true,
    mandatory: message.mandatory ?? false,
    messageId: message.id,
    contentType,
    timestamp: Math.floor(Date.now() / 1000),
    headers,
  };
}

/** The {@link TransportMessage} carried by a received AMQP message. Never throws. */
export function fromAmqp(message: Message): TransportMessage {
  let headers: Record<string, string> = {};
  const table = message.properties.headers;
  let key: string | undefined;
  let deliverAt: number | undefined;
  if (table) {
    for (const name in table) {
      const value: unknown = table[name];
      if (name === InternalHeader.key) key = headerText(value);
      else if (name === InternalHeader.deliverAt) deliverAt = Number(value);
      else if (isBookkeeping(name)) continue;
      else {
        const text = headerText(value);
        if (text === undefined) continue;
        const core = coreHeaderName(name);
        if (core === name) headers[name] = text;
        else if (table[core] === undefined) headers[core] = text;
      }
    }
  }
  const contentType: unknown = message.properties.contentType;
  if (typeof contentType === 'string') headers[CONTENT_TYPE] = contentType;
  if (isCompactable(headers, headers[CONTENT_TYPE])) restoreDefaults(headers);
  // An Ecotone distributed message: its headers as their ce- form (core's one Ecotone codec).
  headers = readEcotoneWire(headers) as Record<string, string>;
  const messageId: unknown = message.properties.messageId;
  // No id at all: '' (core dead-letters such a message under a generated id, and says so).
  const id = typeof messageId === 'string' && messageId.length > 0 ? messageId : (headers['ce-id'] ?? '');
  const result: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id,
    headers,
    body: message.content,
  };
  if (key !== undefined) result.key = key;
  if (deliverAt !== undefined && Number.isFinite(deliverAt)) result.deliverAt = deliverAt;
  return result;
}

/*
 * Attributes left out of a binary-mode header table when they hold the value a
 * reader assumes without them (core's decoder defaults them the same way):
 * `ce-attempt` 1, `ce-correlationid` equal to `ce-id`, `ce-kind` `command`
 * with a `ce-targetservice` and `event` without. They are Switchyard
 * extensions, optional to any other CloudEvents reader; amqplib encodes and
 * decodes a table entry by entry (a few native string writes each), so three
 * fewer entries are a measurable share of a message's CPU. `fromAmqp` puts
 * them back, so the TransportMessage read equals the one sent.
 */
const ATTEMPT = 'ce-attempt';
const CORRELATION_ID = 'ce-correlationid';
const KIND = 'ce-kind';
const ID = 'ce-id';
const TARGET_SERVICE = 'ce-targetservice';

/** A binary-mode CloudEvent (its specversion among the headers, its body no structured document). */
function isCompactable(headers: Readonly<Record<string, string>>, contentType: string | undefined): boolean {
  return headers['ce-specversion'] !== undefined && !isStructuredContentType(contentType);
}

function isDefault(headers: Readonly<Record<string, string>>, name: string, value: string): boolean {
  switch (name) {
    case ATTEMPT:
      return value === '1';
    case CORRELATION_ID:
      return value === headers[ID];
    case KIND:
      return value === (headers[TARGET_SERVICE] === undefined ? 'event' : 'command');
    default:
      return false;
  }
}

function restoreDefaults(headers: Record<string, string>): void {
  headers[ATTEMPT] ??= '1';
  const id = headers[ID];
  if (id !== undefined) headers[CORRELATION_ID] ??= id;
  headers[KIND] ??= headers[TARGET_SERVICE] === undefined ? 'event' : 'command';
}

/** Header values other AMQP clients may send as numbers, booleans or bytes, as text; undefined for tables and arrays. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/** Deliveries of `message` so far, this one included, from the broker's redelivery data and our own counter. */
export function deliveryCountOf(message: Message, redelivered: boolean): number {
  const table = message.properties.headers;
  const before = Number(table?.[InternalHeader.deliveries] ?? 0) || 0;
  // Quorum queues count failed deliveries in x-delivery-count; classic queues only flag a redelivery.
  const quorumCount = Number(table?.['x-delivery-count']);
  if (Number.isInteger(quorumCount) && quorumCount >= 0) return before + quorumCount + 1;
  return before + (redelivered ? 2 : 1);
}

/** `x-*` (broker) and `sy-*` (this transport) header names; char codes keep this cheap on the hot path. */
function isBookkeeping(name: string): boolean {
  const first = name.charCodeAt(0);
  if (first === 120 /* x */) return name.charCodeAt(1) === 45; /* - */
  return first === 115 /* s */ && name.charCodeAt(1) === 121 /* y */ && name.charCodeAt(2) === 45;
}
