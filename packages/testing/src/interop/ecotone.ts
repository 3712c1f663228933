import { readFileSync } from 'node:fs';
import {
  createService,
  defineCommand,
  defineEvent,
  type MessageHeaders,
  type ServiceRoute,
  type Transport,
} from '@switchyard/core';
import { fromEcotoneHeaders } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../broker-gate.js';

/**
 * A golden vector of docs/wire-format.md (a ```` ```json vector:<name> ```` block),
 * parsed. The vectors live in the document so the document and the tests
 * cannot drift apart. Throws when the block is missing.
 */
export function wireVector<T = Record<string, unknown>>(name: string): T {
  const doc = readFileSync(new URL('../../../../docs/wire-format.md', import.meta.url), 'utf8');
  const match = doc.match(new RegExp(`\`\`\`json vector:${name}\\n([\\s\\S]*?)\`\`\``));
  if (!match?.[1]) throw new Error(`vector ${name} is missing from docs/wire-format.md`);
  return JSON.parse(match[1]) as T;
}

/** The part every Ecotone vector has: the decoded Switchyard headers and the JSON body. */
export interface EcotoneVector {
  readonly body: string;
  readonly decoded: Partial<MessageHeaders>;
}

const PlaceOrder = defineCommand(
  'order.place',
  z.object({ orderId: z.string(), items: z.array(z.object({ sku: z.string(), quantity: z.number() })) }),
);
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string(), total: z.number() }));
const ChargeOrder = defineCommand('billing.charge', z.object({ orderId: z.string() }));
const OrderCharged = defineEvent('billing.charged', z.object({ orderId: z.string() }));

/**
 * Scenario: an Ecotone service sends the golden command (to `order-service`,
 * the vector's target) and publishes the golden event; typed Switchyard
 * handlers receive both with the vector's decoded fields and payload, and
 * nothing is dead-lettered. `produce` writes the named vector exactly as
 * Ecotone's adapter for the broker lays it out.
 */
export async function ecotoneReceiveScenario(options: {
  readonly transport: () => string | Transport;
  /** The listener service's name (unique per run); `order-service` is the other. */
  readonly listener: string;
  /** Service map entries (channels) for `order-service` and the listener, where the broker needs them. */
  readonly services?: Readonly<Record<string, ServiceRoute>>;
  readonly produce: (vector: 'command' | 'event') => Promise<void>;
  readonly vectors: { readonly command: EcotoneVector; readonly event: EcotoneVector };
}): Promise<void> {
  const commands: Array<{ payload: unknown; headers: MessageHeaders }> = [];
  const events: Array<{ payload: unknown; headers: MessageHeaders }> = [];
  const common = { services: options.services ?? {}, handleSignals: false } as const;
  const orders = createService({ name: 'order-service', transport: options.transport(), ...common });
  orders.handle(PlaceOrder, (payload, ctx) => void commands.push({ payload, headers: ctx.headers }), {
    distributed: true,
  });
  const listener = createService({ name: options.listener, transport: options.transport(), ...common });
  listener.handle(OrderPlaced, (payload, ctx) => void events.push({ payload, headers: ctx.headers }), {
    distributed: true,
  });
  try {
    await orders.start();
    await listener.start();
    await options.produce('command');
    await options.produce('event');
    await waitFor(() => commands.length === 1 && events.length === 1, 'the Ecotone command and event handled', 20_000);
    expect(commands[0]?.payload).toEqual(JSON.parse(options.vectors.command.body));
    expect(commands[0]?.headers).toMatchObject(options.vectors.command.decoded);
    expect(events[0]?.payload).toEqual(JSON.parse(options.vectors.event.body));
    expect(events[0]?.headers).toMatchObject(options.vectors.event.decoded);
    expect(await orders.deadLetters.list()).toEqual([]);
    expect(await listener.deadLetters.list()).toEqual([]);
  } finally {
    await Promise.allSettled([orders.stop(), listener.stop()]);
  }
}

/** One message as Ecotone's consumer finds it: its headers as text, and the body. */
export interface EcotoneRead {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Scenario: a Switchyard service whose service map names an Ecotone service
 * (`wire: 'ecotone'` on that entry, subscribing to `billing.*`) sends it a
 * command and publishes an event; `read` returns what Ecotone's consumer
 * finds for each (`command` on the Ecotone service's channel, `event` where
 * the broker puts events for it). Both carry the headers Ecotone reads, with
 * the message's values, and read back through core's Ecotone codec (Ecotone's
 * headers alone) to the same CloudEvents attributes.
 */
export async function ecotoneSendScenario(options: {
  readonly transport: () => string | Transport;
  readonly sender: string;
  /** The Ecotone service's name, and its service map entry (channel) without `wire`. */
  readonly ecotoneService: string;
  readonly ecotoneRoute?: ServiceRoute;
  readonly read: (what: 'command' | 'event') => Promise<EcotoneRead>;
}): Promise<void> {
  const route: ServiceRoute = { ...options.ecotoneRoute, wire: 'ecotone', subscribes: ['billing.*'] };
  const sender = createService({
    name: options.sender,
    transport: options.transport(),
    services: { [options.ecotoneService]: route },
    handleSignals: false,
  });
  await sender.start();
  try {
    await sender.distributedBus.sendCommand(
      options.ecotoneService,
      ChargeOrder,
      { orderId: 'o-9' },
      { metadata: { tenant: 'acme', tenantId: 't-7' } },
    );
    await sender.distributedBus.publishEvent(OrderCharged, { orderId: 'o-9' });
  } finally {
    await sender.stop();
  }
  for (const [what, kind, type] of [
    ['command', 'command', 'billing.charge'],
    ['event', 'event', 'billing.charged'],
  ] as const) {
    const got = await options.read(what);
    expect(JSON.parse(got.body)).toEqual({ orderId: 'o-9' });
    expect(got.headers).toMatchObject({
      'ecotone.distributed.routingKey': type,
      'ecotone.distributed.payloadType': kind,
      'ecotone.distributed.sourceServiceName': options.sender,
      contentType: 'application/json',
    });
    expect(got.headers.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.headers.timestamp).toMatch(/^\d+$/);
    expect(got.headers.correlationId).toBe(got.headers.id);
    const ecotoneOnly = Object.fromEntries(
      Object.entries(got.headers).filter(([name]) => !name.startsWith('ce-') && !name.startsWith('ce_')),
    );
    expect(fromEcotoneHeaders(ecotoneOnly)).toMatchObject({
      'ce-id': got.headers.id,
      'ce-type': type,
      'ce-kind': kind,
      'ce-source': options.sender,
      'ce-time': new Date(Number(got.headers.timestamp) * 1000).toISOString(),
      'content-type': 'application/json',
    });
    if (what === 'command') {
      expect(got.headers['ecotone.distributed.targetServiceName']).toBe(options.ecotoneService);
      // Metadata keeps its key: camelCase as a header of that name.
      expect(got.headers.tenantId).toBe('t-7');
    }
  }
}
