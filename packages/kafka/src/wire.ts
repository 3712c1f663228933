import {
  type BindingPrefix,
  isStructuredContentType,
  readEcotoneWire,
  structuredType,
  type TransportMessage,
  toBindingHeaders,
  toCoreHeaders,
  toEcotoneTextHeaders,
  type WireForm,
} from '@switchyard/core/transport';
import type { IncomingRecord, OutgoingRecord } from './client.js';

/**
 * How a Switchyard message maps onto a Kafka record: the body is the record
 * value, the ordering key is the record key (so one key stays on one
 * partition), and the CloudEvents attributes are record headers named as the
 * CloudEvents Kafka binding names them (`ce_<attribute>`, `content-type`), or
 * `ce-<attribute>` when the transport is told to write that form. Both forms
 * are read. The transport adds a few `x-sy-*` headers of its own and strips
 * them again on delivery, so a consumer sees exactly the headers that were sent.
 * On Ecotone's wire a record also carries Ecotone's distributed-bus headers
 * (core's Ecotone codec), as Ecotone's Kafka channel writes them: every
 * message header as a record header of the same name, the payload as the value.
 */
export const InternalHeader = {
  /** Message id, written only when it differs from `ce-id` (foreign or hand-built messages). */
  id: 'x-sy-id',
  /** Deliveries so far; written on re-produce after a nack (absent means 1). */
  deliveryCount: 'x-sy-delivery-count',
  /** Routing key of a published event. */
  routingKey: 'x-sy-routing-key',
  /** Epoch ms before which the message must not be handled. */
  due: 'x-sy-due',
} as const;

const INTERNAL_PREFIX = 'x-sy-';

/** A record read back as a message plus the transport's own metadata. */
export interface DecodedRecord {
  readonly message: TransportMessage;
  readonly deliveryCount: number;
  readonly routingKey: string | undefined;
  /** Epoch ms the message is due, if it was delayed. */
  readonly due: number | undefined;
}

/** Header-name prefix of the CloudEvents Kafka binding: the default form a record is written in. */
export const KAFKA_BINDING_PREFIX: BindingPrefix = 'ce_';

/**
 * Build the record for `message` on `topic`, with extra internal headers,
 * attributes named with `prefix`, and Ecotone's headers too when the
 * message's `wire` (a service map entry's), else the transport's, is `ecotone`.
 */
export function toRecord(
  topic: string,
  message: TransportMessage,
  internal?: Readonly<Record<string, string>>,
  prefix: BindingPrefix = KAFKA_BINDING_PREFIX,
  wire: WireForm = 'cloudevents',
): OutgoingRecord {
  const ownId = message.headers['ce-id'] !== message.id;
  let headers = toBindingHeaders(message.headers, prefix);
  if ((message.wire ?? wire) === 'ecotone') headers = { ...toEcotoneTextHeaders(message.headers), ...headers };
  // Most messages need no header of the transport's own: send their headers as they are, uncopied.
  if (internal !== undefined || ownId || message.deliverAt !== undefined) {
    const copy: Record<string, string> = { ...headers, ...internal };
    if (ownId) copy[InternalHeader.id] = message.id;
    if (message.deliverAt !== undefined && copy[InternalHeader.due] === undefined) {
      copy[InternalHeader.due] = String(message.deliverAt);
    }
    headers = copy;
  }
  return message.key === undefined
    ? { topic, value: message.body, headers }
    : { topic, key: message.key, value: message.body, headers };
}

/**
 * Read a record back, attribute headers in core's `ce-` form whichever form
 * they were written in. A record without any id header (written by another
 * producer) gets `kafka:<topic>/<partition>/<offset>` as its id, stable across
 * redeliveries so core's inbox can still suppress duplicates. The routing key
 * is the transport's own header, else the CloudEvents `type` (from the header,
 * or from the body of a structured-mode record), so a foreign producer's
 * event is routed by its type. An Ecotone record is read through core's
 * Ecotone codec (its routing key becomes the type).
 */
export function fromRecord(topic: string, partition: number, record: IncomingRecord): DecodedRecord {
  const internal = record.headers;
  let headers = readEcotoneWire(toCoreHeaders(internal));
  for (const name in headers) {
    if (!name.startsWith(INTERNAL_PREFIX)) continue;
    // Only records the transport re-produced or published carry internal headers: copy those without them.
    const stripped: Record<string, string> = {};
    for (const key in headers) if (!key.startsWith(INTERNAL_PREFIX)) stripped[key] = headers[key] as string;
    headers = stripped;
    break;
  }
  const id = internal[InternalHeader.id] ?? headers['ce-id'] ?? `kafka:${topic}/${partition}/${record.offset}`;
  const count = Number(internal[InternalHeader.deliveryCount] ?? '1');
  const dueText = internal[InternalHeader.due];
  const due = dueText === undefined ? undefined : Number(dueText);
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = { id, headers, body: record.value };
  if (record.key !== undefined) message.key = record.key;
  if (due !== undefined && Number.isFinite(due)) message.deliverAt = due;
  return {
    message,
    deliveryCount: Number.isInteger(count) && count >= 1 ? count : 1,
    routingKey:
      internal[InternalHeader.routingKey] ?? headers['ce-type'] ?? structuredRoutingKey(headers, record.value),
    due: due !== undefined && Number.isFinite(due) ? due : undefined,
  };
}

function structuredRoutingKey(headers: Readonly<Record<string, string>>, body: Uint8Array): string | undefined {
  return isStructuredContentType(headers['content-type']) ? structuredType(body) : undefined;
}

/**
 * The record that re-delivers `decoded` on `topic` (after a nack, or when its
 * delay ends), keeping its id, key and headers. `due`: a new due time, `null`
 * to drop it (the message is due now: a forwarded record must not be parked
 * again by a consumer whose clock runs behind), or omitted to keep the old one.
 */
export function redeliveryRecord(
  topic: string,
  decoded: DecodedRecord,
  options: { deliveryCount: number; due?: number | null; prefix?: BindingPrefix },
): OutgoingRecord {
  const internal: Record<string, string> = { [InternalHeader.deliveryCount]: String(options.deliveryCount) };
  const due = options.due === undefined ? decoded.due : options.due;
  if (due !== null && due !== undefined) internal[InternalHeader.due] = String(due);
  const { deliverAt: _dropped, ...message } = decoded.message;
  return toRecord(topic, message, internal, options.prefix);
}
