import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import {
  coreHeaderName,
  fromStructured,
  isStructuredContentType,
  readEcotoneWire,
  type TransportMessage,
  toEcotoneHeaders,
  toStructured,
  type WireForm,
} from '@switchyard/core/transport';

/**
 * The SQS wire format. SQS allows only 10 message attributes, so the message
 * travels in CloudEvents structured mode: the body is one JSON document with
 * every `ce-*` header as an attribute and the payload as `data` (or
 * `data_base64` when the payload is not canonical JSON, so that its bytes
 * come back unchanged). A few SQS message attributes carry what the broker
 * itself must see:
 *
 * - `sy-routing-key`: the event's routing key (informational: SNS filter
 *   policies match the `type` field of the structured body, so that events a
 *   foreign producer publishes are routed by their CloudEvents type too).
 * - `sy-key`: the ordering key.
 * - `sy-due`: epoch ms before which the message must not be handled; drives
 *   the re-send chain for delays over 15 minutes and for events via SNS.
 * - `sy-headers`: headers outside the CloudEvents namespace, as JSON (rare).
 *
 * On Ecotone's wire the layout is Ecotone's SQS channel's (Enqueue's
 * `SqsProducer`): the payload as the body, and every header in the one
 * attribute `Headers`, the JSON array `[{}, {…headers…}]`.
 */

/** Message attribute names used on the wire. */
export const Attr = {
  routingKey: 'sy-routing-key',
  key: 'sy-key',
  due: 'sy-due',
  headers: 'sy-headers',
  /** Enqueue's (Ecotone's) attribute: `[headers, properties]` as JSON; the properties carry the message headers. */
  enqueueHeaders: 'Headers',
} as const;

/** Field of the structured body that SNS subscription filter policies match (`FilterPolicyScope: MessageBody`). */
export const ROUTING_FIELD = 'type';

/** Every attribute name the transport asks ReceiveMessage for. */
export const ATTRIBUTE_NAMES: readonly string[] = Object.values(Attr);

/** A message in SQS/SNS form: a text body and string attributes. */
export interface WireMessage {
  readonly body: string;
  readonly attributes: Record<string, string>;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * True when `text` may be spliced into the structured document as `data`:
 * it is exactly what JSON.stringify would write, and carries no key that
 * core's safe parser refuses (which would make the whole document, id
 * included, unreadable; as `data_base64` core still gets the id and rejects
 * just the payload, so the message is dead-lettered under its own id).
 */
function isCanonicalJson(text: string): boolean {
  if (text.includes('__proto__') || text.includes('"constructor"')) return false;
  try {
    return JSON.stringify(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** The structured body: core's encoder when the payload is canonical JSON, else base64 data so bytes survive. */
function structuredBody(message: TransportMessage): string {
  const contentType = message.headers['content-type'] ?? 'application/json';
  const text = decoder.decode(message.body);
  if (contentType.includes('json') && isCanonicalJson(text)) {
    return decoder.decode(toStructured(message));
  }
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (name.startsWith('ce-')) event[name.slice(3)] = value;
  }
  event.datacontenttype = contentType;
  event.data_base64 = Buffer.from(message.body).toString('base64');
  return JSON.stringify(event);
}

/**
 * Encode a message for SQS or SNS. `routingKey` is set for events; `due` for
 * messages still to be held; `wire` `ecotone` writes Ecotone's layout.
 */
export function toWire(
  message: TransportMessage,
  extra: { routingKey?: string; due?: number } = {},
  wire: WireForm = 'cloudevents',
): WireMessage {
  const attributes: Record<string, string> = {};
  if (extra.routingKey !== undefined) attributes[Attr.routingKey] = extra.routingKey;
  if (message.key !== undefined) attributes[Attr.key] = message.key;
  if (extra.due !== undefined) attributes[Attr.due] = String(extra.due);
  if (wire === 'ecotone') {
    // Ecotone's headers first; every header of the message (ce- attributes, metadata) beside them.
    const properties = { ...toEcotoneHeaders(message.headers), ...message.headers };
    attributes[Attr.enqueueHeaders] = JSON.stringify([{}, properties]);
    return { body: decoder.decode(message.body), attributes };
  }
  const foreign: Record<string, string> = {};
  let hasForeign = false;
  for (const [name, value] of Object.entries(message.headers)) {
    if (name.startsWith('ce-') || name === 'content-type') continue;
    foreign[name] = value;
    hasForeign = true;
  }
  if (hasForeign) attributes[Attr.headers] = JSON.stringify(foreign);
  return { body: structuredBody(message), attributes };
}

/** SDK attribute map for `attributes`. */
export function sdkAttributes(attributes: Record<string, string>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) out[name] = { DataType: 'String', StringValue: value };
  return out;
}

/** Plain string attributes from an SDK attribute map (non-string ones are ignored). */
export function plainAttributes(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value.StringValue !== undefined) out[name] = value.StringValue;
  }
  return out;
}

/**
 * A foreign producer's binary-mode message: CloudEvents attributes as message
 * attributes named `ce_<attribute>` or `ce-<attribute>` (the content type as
 * `content-type` or `ce_datacontenttype`), the body the data. Undefined when the attributes carry
 * no `specversion`, i.e. the body is a structured event.
 */
function binaryMode(body: string, attributes: Record<string, string>): TransportMessage | undefined {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const core = coreHeaderName(name);
    if (core === 'ce-datacontenttype' || core === 'content-type') headers['content-type'] = value;
    else if (core.startsWith('ce-') && name !== '__proto__') headers[core] = value;
  }
  if (headers['ce-specversion'] === undefined || isStructuredContentType(headers['content-type'])) return undefined;
  headers['content-type'] ??= 'application/json';
  const key = attributes[Attr.key];
  const message = { id: headers['ce-id'] ?? '', headers, body: encoder.encode(body) };
  return key === undefined ? message : { ...message, key };
}

/**
 * Decode a received body and attributes into a transport message: a
 * structured CloudEvent body (what Switchyard writes), or a foreign
 * producer's binary-mode message (attributes `ce_*`/`ce-*` with a
 * `specversion`). Throws a PoisonMessageError (`SY_DECODE`) when it is neither.
 */
export function fromWire(body: string, attributes: Record<string, string>): TransportMessage {
  const enqueue = enqueueMode(body, attributes);
  if (enqueue !== undefined) return enqueue;
  const binary = binaryMode(body, attributes);
  if (binary !== undefined) return binary;
  const key = attributes[Attr.key];
  let decoded: TransportMessage;
  try {
    decoded = fromStructured(encoder.encode(body), key === undefined ? undefined : { key });
  } catch (error) {
    decoded = lenientStructured(body, key) ?? rethrow(error);
  }
  const foreignText = attributes[Attr.headers];
  const due = attributes[Attr.due] === undefined ? undefined : Number(attributes[Attr.due]);
  let headers = decoded.headers;
  if (foreignText !== undefined) {
    const foreign = safeStringRecord(foreignText);
    headers = { ...foreign, ...decoded.headers };
  }
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = { ...decoded, headers };
  if (due !== undefined && Number.isFinite(due)) message.deliverAt = due;
  return message;
}

/**
 * A message in Ecotone's (Enqueue's) layout: the `Headers` attribute's
 * properties read through core's Ecotone codec, the body the payload.
 * Undefined when there is no such attribute, or its properties carry neither
 * Ecotone's distributed headers nor CloudEvents attributes.
 */
function enqueueMode(body: string, attributes: Record<string, string>): TransportMessage | undefined {
  const text = attributes[Attr.enqueueHeaders];
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const properties: unknown = Array.isArray(parsed) ? parsed[1] : undefined;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return undefined;
  const raw: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (name === '__proto__') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') raw[name] = String(value);
  }
  const headers = readEcotoneWire(raw);
  if (headers['ce-specversion'] === undefined) return undefined;
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: headers['ce-id'] ?? '',
    headers,
    body: encoder.encode(body),
  };
  const key = attributes[Attr.key];
  if (key !== undefined) message.key = key;
  const due = Number(attributes[Attr.due]);
  if (attributes[Attr.due] !== undefined && Number.isFinite(due)) message.deliverAt = due;
  return message;
}

function safeStringRecord(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === 'string' && name !== '__proto__') out[name] = value;
    }
  } catch {
    return {};
  }
  return { ...out };
}

/**
 * A queue subscribed to SNS without raw message delivery receives SNS's JSON
 * envelope; unwrap it so such a subscription (made by hand, or by an older
 * deployment) still works. Anything else is returned unchanged.
 */
export function unwrapSnsEnvelope(body: string, attributes: Record<string, string>): WireMessage {
  if (!body.startsWith('{') || !body.includes('"TopicArn"')) return { body, attributes };
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object') return { body, attributes };
    const envelope = parsed as { Type?: unknown; Message?: unknown; MessageAttributes?: unknown };
    if (envelope.Type !== 'Notification' || typeof envelope.Message !== 'string') return { body, attributes };
    const unwrapped: Record<string, string> = { ...attributes };
    if (envelope.MessageAttributes !== null && typeof envelope.MessageAttributes === 'object') {
      for (const [name, value] of Object.entries(envelope.MessageAttributes as Record<string, unknown>)) {
        const v = (value as { Value?: unknown } | null)?.Value;
        if (typeof v === 'string' && name !== '__proto__') unwrapped[name] = v;
      }
    }
    return { body: envelope.Message, attributes: unwrapped };
  } catch {
    return { body, attributes };
  }
}

function rethrow(error: unknown): never {
  throw error;
}

/**
 * A structured event whose `data` core's safe parser refuses (e.g. a
 * `__proto__` key, written by a foreign producer): keep its attributes and
 * hand `data` over as bytes, so core rejects the payload under the message's
 * own id. Plain JSON.parse is safe here: the parsed objects are only read and
 * re-serialized, never merged into another object.
 */
function lenientStructured(body: string, key: string | undefined): TransportMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const headers: Record<string, string> = {};
  let data = '';
  for (const [name, value] of Object.entries(parsed)) {
    if (name === 'data') data = JSON.stringify(value);
    else if (name === 'datacontenttype' && typeof value === 'string') headers['content-type'] = value;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      headers[`ce-${name}`] = String(value);
    }
  }
  const id = headers['ce-id'];
  if (id === undefined) return undefined;
  headers['content-type'] ??= 'application/json';
  const message = { id, headers, body: encoder.encode(data) };
  return key === undefined ? message : { ...message, key };
}
