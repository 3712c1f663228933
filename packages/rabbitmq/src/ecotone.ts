import type { Topology } from '@switchyard/core/transport';

/**
 * Ecotone (PHP) distributed-bus headers, mapped to and from the CloudEvents
 * `ce-` form core works with. Ecotone's AMQP distributed bus sends each
 * message to the topic exchange `ecotone.distributed` (routing key: the
 * target service for commands, the event name for events), consumed from the
 * queue `distributed_<service>`, with every message header as an AMQP
 * header-table entry: `id` (UUID), `timestamp` (Unix seconds),
 * `correlationId`, `parentId`, `contentType`, and the distributed headers
 * named below. docs/wire-format.md holds golden vectors of both directions.
 */

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
const ECOTONE_INTERNAL = new Set(['routingSlip', '__TypeId__', 'ecotone.amqp.distributed.service_target']);
const ECOTONE_NAMES = new Set<string>(Object.values(EcotoneHeader));
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** True when `headers` (as received) carry an Ecotone distributed message and no CloudEvents attributes. */
export function isEcotoneMessage(headers: Readonly<Record<string, string>>): boolean {
  return headers['ce-specversion'] === undefined && headers[EcotoneHeader.payloadType] !== undefined;
}

/**
 * The `ce-` headers of a received Ecotone distributed message. Its other
 * headers are user metadata under their own names (`tenantId` stays
 * `tenantId`; see the metadata rules in docs/wire-format.md); Ecotone's own
 * bookkeeping (`routingSlip`, `__TypeId__`) is dropped. Pure; never throws
 * (core's decoder judges what is missing).
 */
export function fromEcotoneHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('ce-')) out[name] = value;
    else if (!ECOTONE_NAMES.has(name) && !ECOTONE_INTERNAL.has(name) && !name.startsWith('ecotone.')) {
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
 * The Ecotone distributed-bus headers for a message in core's `ce-` form, as
 * an Ecotone consumer reads them: written next to the `ce-` headers when a
 * transport uses `wire: 'ecotone'`. `timestamp` is Unix seconds (an integer),
 * as Ecotone writes it.
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

function set(out: Record<string, string>, name: string, value: string | undefined): void {
  if (value !== undefined && value.length > 0) out[name] ??= value;
}

function put(out: Record<string, string | number>, name: string, value: string | undefined): void {
  if (value !== undefined && value.length > 0) out[name] = value;
}

/**
 * With `wire: 'ecotone'`: a channel named like an Ecotone service queue,
 * `distributed_<service>`, is also bound by `<service>`, the routing key
 * Ecotone's distributed bus publishes that service's commands with.
 */
export function withEcotoneBindings(topology: Topology): Topology {
  return {
    channels: topology.channels.map((channel) => {
      const service = channel.name.startsWith('distributed_') ? channel.name.slice('distributed_'.length) : '';
      if (service === '' || channel.subscriptions.includes(service)) return channel;
      return { ...channel, subscriptions: [...channel.subscriptions, service] };
    }),
  };
}
