import { createService, defineCommand, defineEvent } from '@switchyard/core';
import {
  brokerReachable,
  type ForeignEventSpec,
  foreignProducerScenario,
  switchyardOutput,
  waitFor,
} from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ContentMode, RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

/**
 * The foreign party is the official CloudEvents SDK: it builds the events and
 * reads Switchyard's output; amqplib only moves bytes. AMQP 0-9-1 has no
 * CloudEvents binding of its own, so the producer writes the AMQP binding's
 * application-property names (`cloudEvents_`, `cloudEvents:`) and the HTTP
 * binding's (`ce-`), and structured mode.
 */
describe.runIf(reachable)('CloudEvents SDK as the foreign party on RabbitMQ', () => {
  const exchange = unique('sy-test-ce');
  const orders = unique('ce-orders');
  const shipping = unique('ce-shipping');
  const foreign = unique('ce-foreign');
  const tap = unique('ce-tap');
  let admin: ChannelModel;
  const transports: RabbitMqTransport[] = [];
  const transport = (contentMode: ContentMode = 'binary') => {
    const made = new RabbitMqTransport({
      url: RABBIT_URL,
      exchange,
      connectionName: unique('sy-test-ce'),
      contentMode,
    });
    transports.push(made);
    return made;
  };

  beforeAll(async () => {
    admin = await amqp.connect(RABBIT_URL);
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await admin?.close();
    await deleteObjects(
      [orders, shipping, foreign, tap, ...[orders, shipping].map((q) => `${exchange}.topology.${q}`)],
      [exchange, `${exchange}.delay`],
    );
  });

  /** The SDK's message for `spec` in `mode`, as AMQP publish arguments. */
  function amqpMessage(spec: ForeignEventSpec, mode: string) {
    const event = new CloudEvent({ ...spec });
    if (mode === 'structured') {
      const message = HTTP.structured(event);
      return {
        body: Buffer.from(message.body as string),
        contentType: String(message.headers['content-type']),
        headers: {},
      };
    }
    const message = HTTP.binary(event);
    const prefix = mode.slice('binary '.length);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      if (name.startsWith('ce-')) headers[prefix + name.slice(3)] = String(value);
    }
    return { body: Buffer.from(message.body as string), contentType: String(message.headers['content-type']), headers };
  }

  it('SDK-built commands and events, binary (cloudEvents_, cloudEvents:, ce-) and structured, reach typed handlers intact', async () => {
    const channel = await admin.createConfirmChannel();
    const publish = async (exchangeName: string, routingKey: string, spec: ForeignEventSpec, mode: string) => {
      const { body, contentType, headers } = amqpMessage(spec, mode);
      channel.publish(exchangeName, routingKey, body, { contentType, headers, persistent: true });
      await channel.waitForConfirms();
    };
    await foreignProducerScenario(
      transport,
      {
        modes: ['binary cloudEvents_', 'binary cloudEvents:', 'binary ce-', 'structured'],
        // A command: the default exchange, routing key = the service's queue.
        sendCommand: (service, spec, mode) => publish('', service, spec, mode),
        // An event: the service exchange, routing key = the type. No Switchyard header.
        publishEvent: (spec, mode) => publish(exchange, spec.type, spec, mode),
      },
      { orders, shipping },
    );
    await channel.close();
  });

  it('a batch (application/cloudevents-batch+json) of SDK-built commands is handled event by event', async () => {
    const service = unique('ce-batch');
    const PlaceOrder = defineCommand('interop.order.place', z.object({ orderId: z.string() }));
    const handled: string[] = [];
    const orders = createService({ name: service, transport: transport(), handleSignals: false });
    orders.handle(PlaceOrder, (command, ctx) => void handled.push(`${ctx.headers.id}:${command.orderId}`), {
      distributed: true,
    });
    await orders.start();
    try {
      const event = (id: string, data: unknown) =>
        new CloudEvent({ id, type: 'interop.order.place', source: 'urn:foreign:batch', targetservice: service, data });
      const batch = [event('b-1', { orderId: 'o-1' }), event('b-2', { orderId: 42 }), event('b-3', { orderId: 'o-3' })];
      const channel = await admin.createConfirmChannel();
      channel.sendToQueue(service, Buffer.from(JSON.stringify(batch)), {
        contentType: 'application/cloudevents-batch+json',
      });
      await channel.waitForConfirms();
      await channel.close();
      await waitFor(
        () => handled.length === 2 && orders.inFlight === 0,
        () => `handled [${handled}]`,
      );
      expect(handled).toEqual(['b-1:o-1', 'b-3:o-3']);
      const dead = await orders.deadLetters.list();
      expect(dead.map((record) => [record.messageId, record.reason.code])).toEqual([['b-2', 'SY_VALIDATION']]);
    } finally {
      await orders.stop();
      await deleteObjects([service]);
    }
  });

  it.each(['binary', 'structured'] as const)(
    "Switchyard's command and event are valid CloudEvents 1.0 to the SDK (%s mode)",
    async (contentMode) => {
      const channel = await admin.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.assertQueue(tap, { durable: false });
      await channel.bindQueue(tap, exchange, 'interop.shipment.sent');
      const sent = await switchyardOutput(transport(contentMode), {
        sender: unique('ce-sender'),
        foreignService: foreign,
        eventType: 'interop.shipment.sent',
      });
      const read = async (queue: string) => {
        const got = await channel.get(queue, { noAck: true });
        if (got === false) throw new Error(`nothing on queue '${queue}'`);
        const headers: Record<string, string> = { 'content-type': String(got.properties.contentType) };
        const ceHeaders = Object.keys(got.properties.headers ?? {}).filter((name) => name.startsWith('ce-'));
        if (contentMode === 'structured') {
          // The attributes are in the body only: the JSON event format's media type, no ce- header.
          expect(headers['content-type']).toBe('application/cloudevents+json');
          expect(ceHeaders).toEqual([]);
        } else {
          expect(ceHeaders).toContain('ce-type');
        }
        for (const [name, value] of Object.entries(got.properties.headers ?? {})) headers[name] = String(value);
        const event = HTTP.toEvent({ headers, body: got.content.toString('utf8') }) as CloudEvent<unknown>;
        expect(event.validate()).toBe(true);
        return event;
      };
      const command = await read(foreign);
      expect(command).toMatchObject({ specversion: '1.0', type: 'interop.order.place', data: sent.command });
      expect(command.targetservice).toBe(foreign);
      const event = await read(tap);
      expect(event).toMatchObject({ specversion: '1.0', type: 'interop.shipment.sent', data: sent.event });
      expect(typeof event.id).toBe('string');
      expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
      await channel.close();
    },
  );

  it('structured mode round trip: a command retried once and the event it publishes reach their handlers intact', async () => {
    const ordersName = unique('ce-st-orders');
    const shippingName = unique('ce-st-shipping');
    const PlaceOrder = defineCommand('interop.structured.place', z.object({ orderId: z.string() }));
    const Placed = defineEvent('interop.structured.placed', z.object({ orderId: z.string() }));
    const attempts: number[] = [];
    const seen: Array<{ orderId: string; correlationId: string; causationId: string | undefined; tenant?: string }> =
      [];
    const orders = createService({
      name: ordersName,
      transport: transport('structured'),
      handleSignals: false,
      retry: { instantRetries: 0, delayedRetries: 1, initialDelayMs: 1, jitter: 0 },
    });
    const shipping = createService({ name: shippingName, transport: transport('structured'), handleSignals: false });
    orders.handle(
      PlaceOrder,
      async (command, ctx) => {
        attempts.push(ctx.headers.attempt);
        if (ctx.headers.attempt === 1) throw new Error('first attempt fails');
        await ctx.publishEvent(Placed, { orderId: command.orderId });
      },
      { distributed: true },
    );
    shipping.handle(
      Placed,
      (event, ctx) =>
        void seen.push({
          orderId: event.orderId,
          correlationId: ctx.headers.correlationId,
          causationId: ctx.headers.causationId,
          ...(ctx.headers.metadata.tenant === undefined ? {} : { tenant: ctx.headers.metadata.tenant }),
        }),
      { distributed: true },
    );
    await shipping.start();
    await orders.start();
    const sender = createService({
      name: unique('ce-st-sender'),
      transport: transport('structured'),
      handleSignals: false,
    });
    await sender.start();
    try {
      await sender.distributedBus.sendCommand(
        ordersName,
        PlaceOrder,
        { orderId: 'o-9' },
        {
          correlationId: 'corr-9',
          metadata: { tenant: 't-1' },
        },
      );
      await waitFor(
        () => seen.length === 1 && orders.inFlight === 0,
        () => `attempts [${attempts}], seen ${JSON.stringify(seen)}`,
      );
      expect(attempts).toEqual([1, 2]);
      expect(seen).toEqual([
        { orderId: 'o-9', correlationId: 'corr-9', causationId: expect.any(String), tenant: 't-1' },
      ]);
    } finally {
      await Promise.allSettled([sender.stop(), orders.stop(), shipping.stop()]);
      await deleteObjects([
        ordersName,
        shippingName,
        ...[ordersName, shippingName].map((q) => `${exchange}.topology.${q}`),
      ]);
    }
  });
});
