import { createService, defineCommand, defineEvent, type MessageHeaders, type Transport } from '@switchyard/core';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../broker-gate.js';

/**
 * A CloudEvent as a foreign producer builds it (with its own library, e.g.
 * the official `cloudevents` SDK). A command carries the `targetservice`
 * extension; an event does not.
 */
export interface ForeignEventSpec {
  readonly specversion: '1.0';
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: { readonly orderId: string };
  readonly targetservice?: string;
}

/** What the foreign producer of one broker can do, in each of its content modes. */
export interface ForeignProducer {
  /** Mode names this broker's producer writes, e.g. `binary ce_` and `structured`. */
  readonly modes: readonly string[];
  /** Send `event` (a command) to the inbox of `service`, as the broker's binding lays it out. */
  sendCommand(service: string, event: ForeignEventSpec, mode: string): Promise<void>;
  /**
   * Publish `event` with nothing but CloudEvents attributes and the broker's
   * own addressing. `subscribers` names the services subscribed to its type,
   * for brokers where a producer writes to each subscriber (Redis Streams).
   */
  publishEvent(event: ForeignEventSpec, mode: string, subscribers: readonly string[]): Promise<void>;
}

/** What a handler saw of one message: the attributes a foreign producer sets, and the payload. */
export interface Seen {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly data: unknown;
}

const ForeignPlaceOrder = defineCommand('interop.order.place', z.object({ orderId: z.string() }));
const ForeignOrderPlaced = defineEvent('interop.order.placed', z.object({ orderId: z.string() }));

const seen = (headers: MessageHeaders, data: unknown): Seen => ({
  id: headers.id,
  type: headers.name,
  source: headers.source,
  time: headers.time,
  data,
});

/**
 * Scenario: for each of the producer's modes, a foreign producer sends one
 * command to a Switchyard service and publishes one event that a second
 * service subscribed to (by a pattern), using only CloudEvents attributes;
 * both handlers receive id, type, source, time and data intact. `transport`
 * makes the transport of each service (called once per service).
 */
export async function foreignProducerScenario(
  transport: () => string | Transport,
  producer: ForeignProducer,
  names: { readonly orders: string; readonly shipping: string },
): Promise<void> {
  const commands: Seen[] = [];
  const events: Seen[] = [];
  const orders = createService({ name: names.orders, transport: transport(), handleSignals: false });
  orders.handle(ForeignPlaceOrder, (command, ctx) => void commands.push(seen(ctx.headers, command)), {
    distributed: true,
  });
  const shipping = createService({ name: names.shipping, transport: transport(), handleSignals: false });
  shipping.handle(ForeignOrderPlaced, (event, ctx) => void events.push(seen(ctx.headers, event)), {
    distributed: true,
  });
  try {
    await orders.start();
    await shipping.start();
    const sentCommands: ForeignEventSpec[] = [];
    const sentEvents: ForeignEventSpec[] = [];
    for (const [i, mode] of producer.modes.entries()) {
      const command: ForeignEventSpec = {
        specversion: '1.0',
        id: `cmd-${i}-${Math.random().toString(36).slice(2, 10)}`,
        type: ForeignPlaceOrder.name,
        source: 'urn:foreign:php-shop',
        time: new Date(Date.UTC(2026, 10, 26, 10, 0, i)).toISOString(),
        datacontenttype: 'application/json',
        data: { orderId: `o-${mode}` },
        targetservice: names.orders,
      };
      const { targetservice: _none, ...event } = {
        ...command,
        id: `evt-${i}-${Math.random().toString(36).slice(2, 10)}`,
        type: ForeignOrderPlaced.name,
      };
      await producer.sendCommand(names.orders, command, mode);
      await producer.publishEvent(event, mode, [names.shipping]);
      sentCommands.push(command);
      sentEvents.push(event);
    }
    await waitFor(
      () => commands.length === sentCommands.length && events.length === sentEvents.length,
      () => `commands ${commands.length}/${sentCommands.length}, events ${events.length}/${sentEvents.length} handled`,
    );
    const expected = (spec: ForeignEventSpec): Seen => ({
      id: spec.id,
      type: spec.type,
      source: spec.source,
      time: spec.time,
      data: spec.data,
    });
    const byId = (a: Seen, b: Seen) => a.id.localeCompare(b.id);
    expect([...commands].sort(byId)).toEqual(sentCommands.map(expected).sort(byId));
    expect([...events].sort(byId)).toEqual(sentEvents.map(expected).sort(byId));
    expect(await orders.deadLetters.list()).toEqual([]);
    expect(await shipping.deadLetters.list()).toEqual([]);
  } finally {
    await Promise.allSettled([orders.stop(), shipping.stop()]);
  }
}

/**
 * Have a Switchyard service send one command to `foreignService` and publish
 * one event of type `eventType`, for a test that reads them raw off the
 * broker and checks them with a CloudEvents library. Resolves with what was
 * sent once the broker confirmed it.
 */
export async function switchyardOutput(
  transport: string | Transport,
  names: { readonly sender: string; readonly foreignService: string; readonly eventType: string },
): Promise<{ readonly command: { orderId: string }; readonly event: { orderId: string } }> {
  const Command = defineCommand('interop.order.place', z.object({ orderId: z.string() }));
  const Event = defineEvent(names.eventType, z.object({ orderId: z.string() }));
  const sender = createService({ name: names.sender, transport, handleSignals: false });
  const command = { orderId: 'out-command' };
  const event = { orderId: 'out-event' };
  try {
    await sender.start();
    await sender.distributedBus.sendCommand(names.foreignService, Command, command);
    await sender.distributedBus.publishEvent(Event, event);
    return { command, event };
  } finally {
    await sender.stop();
  }
}
