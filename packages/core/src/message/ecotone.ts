/**
 * Ecotone (PHP) distributed-bus headers, mapped to and from the CloudEvents
 * `ce-` form core works with. Broker-neutral: Ecotone's distributed bus puts
 * the same header names on every broker (`DistributedBusHeader`,
 * `MessageHeaders`); each transport only decides where they travel (AMQP
 * header table, Kafka record headers, the `Headers` attribute of Enqueue's
 * SQS messages). docs/wire-format.md holds golden vectors per broker.
 */

/**
 * Which headers a transport writes: `cloudevents` (CloudEvents attributes in
 * the transport's binding form) or `ecotone` (the same plus Ecotone's
 * distributed-bus headers, so an Ecotone service reads the message).
 */
export type WireForm = 'cloudevents' | 'ecotone';

/** The wire forms, for option checks. */
export const WIRE_FORMS: readonly WireForm[] = ['cloudevents', 'ecotone'];

/** Header names of Ecotone's distributed bus (`DistributedBusHeader`, `MessageHeaders`). */
export const EcotoneHeader = {
  routingKey: 'ecotone.distributed.routingKey',
  payloadType: 'ecotone.distributed.payloadType',
  sourceService: 'ecotone.distributed.sourceServiceName',
  targetService: 'ecotone.distributed.targetServiceName',
  id: 'id',
  timestamp: 'timestamp',
  correlationId: 'correlationId',
  parentId: 'parentId',
  contentType: 'contentType',
} as const;

/** Ecotone's own bookkeeping headers: never handed to core, never written. */
const ECOTONE_INTERNAL = new Set(['routingSlip', '__TypeId__']);
const ECOTONE_NAMES = new Set<string>(Object.values(EcotoneHeader));
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** True when `headers` (as received) carry an Ecotone distributed message and no CloudEvents attributes. */
export function isEcotoneMessage(headers: Readonly<Record<string, string>>): boolean {
  return headers['ce-specversion'] === undefined && headers[EcotoneHeader.payloadType] !== undefined;
}

/** True for a header name that belongs to Ecotone's wire (its distributed headers, `ecotone.*`, its bookkeeping). */
function isEcotoneName(name: string): boolean {
  return ECOTONE_NAMES.has(name) || ECOTONE_INTERNAL.has(name) || name.startsWith('ecotone.');
}

/**
 * The `ce-` headers of a received Ecotone distributed message. Its other
 * headers are user metadata under their own names (`tenantId` stays
 * `tenantId`; see the metadata rules in docs/wire-format.md); Ecotone's own
 * bookkeeping (`routingSlip`, `__TypeId__`, any `ecotone.*` header such as
 * Kafka's partition key) is dropped. Pure; never throws (core's decoder
 * judges what is missing).
 */
export function fromEcotoneHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('ce-')) out[name] = value;
    else if (!isEcotoneName(name)) {
      // User metadata keeps its name: an extension-form name as its ce- attribute, any other (camelCase) as is.
      out[EXTENSION_NAME.test(name) ? `ce-${name}` : name] ??= value;
    }
  }
  const kind = headers[EcotoneHeader.payloadType];
  const routingKey = headers[EcotoneHeader.routingKey];
  set(out, 'ce-specversion', '1.0');
  set(out, 'ce-id', headers[EcotoneHeader.id]);
  set(out, 'ce-source', headers[EcotoneHeader.sourceService]);
  set(out, 'ce-kind', kind);
  set(out, 'ce-targetservice', headers[EcotoneHeader.targetService]);
  if (kind === 'message') {
    // A plain message's routing key names the target channel; its type is that channel too.
    set(out, 'ce-channel', routingKey);
  }
  set(out, 'ce-type', routingKey);
  const seconds = Number(headers[EcotoneHeader.timestamp]);
  if (headers[EcotoneHeader.timestamp] !== undefined && Number.isFinite(seconds)) {
    set(out, 'ce-time', new Date(seconds * 1000).toISOString());
  }
  set(out, 'ce-correlationid', headers[EcotoneHeader.correlationId]);
  set(out, 'ce-causationid', headers[EcotoneHeader.parentId]);
  set(out, 'content-type', headers['content-type'] ?? headers[EcotoneHeader.contentType]);
  return out;
}

/**
 * The headers core reads from a received message that may be on Ecotone's
 * wire: an Ecotone message (no CloudEvents attributes) as its `ce-` form; a
 * message that carries both (written with `wire: 'ecotone'`) without the
 * Ecotone copies, so they do not surface as metadata; anything else
 * unchanged (the same object). Pure; never throws.
 */
export function readEcotoneWire(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (headers[EcotoneHeader.payloadType] === undefined) return headers;
  if (isEcotoneMessage(headers)) return fromEcotoneHeaders(headers);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!isEcotoneName(name)) out[name] = value;
  return out;
}

/**
 * The Ecotone distributed-bus headers for a message in core's `ce-` form, as
 * an Ecotone consumer reads them: written next to the CloudEvents attributes
 * when a message goes out on `wire: 'ecotone'`. `timestamp` is Unix seconds
 * (an integer), as Ecotone writes it; a transport whose headers are text
 * writes it as its decimal string. Pure.
 */
export function toEcotoneHeaders(headers: Readonly<Record<string, string>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const kind = headers['ce-kind'] ?? 'event';
  put(out, EcotoneHeader.id, headers['ce-id']);
  const time = Date.parse(headers['ce-time'] ?? '');
  if (!Number.isNaN(time)) out[EcotoneHeader.timestamp] = Math.floor(time / 1000);
  put(out, EcotoneHeader.correlationId, headers['ce-correlationid']);
  put(out, EcotoneHeader.parentId, headers['ce-causationid']);
  put(out, EcotoneHeader.contentType, headers['content-type']);
  put(
    out,
    EcotoneHeader.routingKey,
    kind === 'message' ? (headers['ce-channel'] ?? headers['ce-type']) : headers['ce-type'],
  );
  put(out, EcotoneHeader.payloadType, kind === 'command' || kind === 'message' ? kind : 'event');
  put(out, EcotoneHeader.sourceService, headers['ce-source']);
  put(out, EcotoneHeader.targetService, headers['ce-targetservice']);
  return out;
}

/** {@link toEcotoneHeaders} with every value as text, for brokers whose headers are strings (Kafka). */
export function toEcotoneTextHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(toEcotoneHeaders(headers))) out[name] = String(value);
  return out;
}

function set(out: Record<string, string>, name: string, value: string | undefined): void {
  if (value !== undefined && value.length > 0) out[name] ??= value;
}

function put(out: Record<string, string | number>, name: string, value: string | undefined): void {
  if (value !== undefined && value.length > 0) out[name] = value;
}
