import { createService, defineCommand, defineEvent, type MessageHeaders } from '@switchyard/core';
import { brokerReachable, waitFor, wireVector } from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RabbitMqTransport } from '../src/index.js';
import { fromAmqp } from '../src/wire.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

interface EcotoneVector {
  readonly routingKey: string;
  readonly contentType: string;
  readonly headers: Record<string, string | number>;
  readonly body: string;
  readonly decoded: Partial<MessageHeaders>;
}

const vector = (name: string): EcotoneVector => wireVector<EcotoneVector>(name);

const PlaceOrder = defineCommand(
  'order.place',
  z.object({ orderId: z.string(), items: z.array(z.object({ sku: z.string(), quantity: z.number() })) }),
);
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string(), total: z.number() }));

describe.runIf(reachable)('Ecotone distributed bus on RabbitMQ', () => {
  // Stands for Ecotone's `ecotone.distributed` exchange: unique per run on the shared broker.
  const exchange = unique('sy-test-ecotone');
  // Ecotone's queue name `distributed_<service>`: with wire 'ecotone' the transport binds it by `<service>`.
  const orderQueue = 'distributed_order-service';
  const billingQueue = `distributed_php-billing-${unique('q')}`;
  const listenerQueue = `distributed_listener-${unique('q')}`;
  let admin: ChannelModel;
  const transports: RabbitMqTransport[] = [];
  const transport = () => {
    const made = new RabbitMqTransport({ url: RABBIT_URL, exchange, wire: 'ecotone' });
    transports.push(made);
    return made;
  };

  beforeAll(async () => {
    admin = await amqp.connect(RABBIT_URL);
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await admin?.close();
    const queues = [orderQueue, billingQueue, listenerQueue];
    await deleteObjects(
      [...queues, ...queues.map((q) => `${exchange}.topology.${q}`)],
      [exchange, `${exchange}.delay`],
    );
  });

  it("handles Ecotone's golden command and event with typed Switchyard handlers", async () => {
    const commands: Array<{ payload: unknown; headers: MessageHeaders }> = [];
    const events: Array<{ payload: unknown; headers: MessageHeaders }> = [];
    // The service is 'order-service' (the vector's target); its queue follows Ecotone's `distributed_<service>`.
    const orders = createService({
      name: 'order-service',
      transport: transport(),
      services: { 'order-service': { channel: orderQueue } },
      handleSignals: false,
    });
    orders.handle(PlaceOrder, (payload, ctx) => void commands.push({ payload, headers: ctx.headers }), {
      distributed: true,
    });
    const listener = createService({
      name: 'listener',
      transport: transport(),
      services: { listener: { channel: listenerQueue } },
      handleSignals: false,
    });
    listener.handle(OrderPlaced, (payload, ctx) => void events.push({ payload, headers: ctx.headers }), {
      distributed: true,
    });
    // Subscribed with Ecotone's wildcard rule: `*` spans the rest of the key.
    const wildcard: string[] = [];
    listener.handle('order.*', (_payload, ctx) => void wildcard.push(ctx.headers.name), {
      distributed: true,
      patternSyntax: 'ecotone',
      name: 'ecotone-wildcard',
    });
    try {
      await orders.start();
      await listener.start();
      const channel = await admin.createConfirmChannel();
      for (const name of ['ecotone-command', 'ecotone-event']) {
        const v = vector(name);
        channel.publish(exchange, v.routingKey, Buffer.from(v.body), {
          contentType: v.contentType,
          headers: v.headers,
          persistent: true,
        });
      }
      await channel.waitForConfirms();
      await channel.close();
      await waitFor(
        () => commands.length === 1 && events.length === 1 && wildcard.length === 1,
        'the Ecotone command and event handled',
      );
      expect(wildcard).toEqual(['order.placed']);
      expect(listener.subscriptions().sort()).toEqual(['order.#', 'order.placed']);
      const command = vector('ecotone-command');
      expect(commands[0]?.payload).toEqual(JSON.parse(command.body));
      expect(commands[0]?.headers).toMatchObject(command.decoded);
      const event = vector('ecotone-event');
      expect(events[0]?.payload).toEqual(JSON.parse(event.body));
      expect(events[0]?.headers).toMatchObject(event.decoded);
      expect(await orders.deadLetters.list()).toEqual([]);
    } finally {
      await Promise.allSettled([orders.stop(), listener.stop()]);
    }
  });

  it('a Switchyard command to an Ecotone service map channel carries the headers Ecotone reads, and decodes back', async () => {
    const channel = await admin.createChannel();
    await channel.assertQueue(billingQueue, { durable: true });
    const ChargeOrder = defineCommand('billing.charge', z.object({ orderId: z.string() }));
    const sender = createService({
      name: 'node-orders',
      transport: transport(),
      services: { 'php-billing': { channel: billingQueue } },
      handleSignals: false,
    });
    await sender.start();
    try {
      await sender.distributedBus.sendCommand(
        'php-billing',
        ChargeOrder,
        { orderId: 'o-9' },
        { metadata: { tenant: 'acme', tenantId: 't-7' } },
      );
    } finally {
      await sender.stop();
    }
    const got = await channel.get(billingQueue, { noAck: true });
    if (got === false) throw new Error('nothing on the Ecotone queue');
    const headers = got.properties.headers ?? {};
    expect(headers).toMatchObject({
      'ecotone.distributed.routingKey': 'billing.charge',
      'ecotone.distributed.payloadType': 'command',
      'ecotone.distributed.sourceServiceName': 'node-orders',
      'ecotone.distributed.targetServiceName': 'php-billing',
      contentType: 'application/json',
      // Metadata keeps its key: camelCase as a header of that name, an extension name as its ce- attribute.
      tenantId: 't-7',
      'ce-tenant': 'acme',
    });
    expect(headers.id).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(Number.isInteger(headers.timestamp)).toBe(true);
    expect(headers.correlationId).toBe(headers.id);
    expect(got.properties.contentType).toBe('application/json');
    expect(JSON.parse(got.content.toString())).toEqual({ orderId: 'o-9' });
    // Read as Ecotone would (its headers only, no ce- header): the same fields come back.
    const ecotoneOnly = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('ce-')));
    const back = fromAmqp({ ...got, properties: { ...got.properties, headers: ecotoneOnly } });
    expect(back.headers).toMatchObject({
      'ce-id': headers.id,
      'ce-type': 'billing.charge',
      'ce-kind': 'command',
      'ce-source': 'node-orders',
      'ce-targetservice': 'php-billing',
      'ce-time': new Date(Number(headers.timestamp) * 1000).toISOString(),
      'content-type': 'application/json',
    });
    await channel.close();
  });
});

describe.runIf(reachable)("Ecotone's wire per service map entry (RabbitMQ)", () => {
  const exchange = unique('sy-test-ecotone-entry');
  const phpQueue = `distributed_php-${unique('svc')}`;
  const auditQueue = unique('sy-test-audit');
  const syB = unique('sy-b');
  const ChargeOrder = defineCommand('billing.charge', z.object({ orderId: z.string() }));
  const InvoicePaid = defineEvent('invoice.paid', z.object({ invoice: z.number() }));
  const AuditLogged = defineEvent('audit.logged', z.object({ line: z.string() }));
  let admin: ChannelModel;
  const transports: RabbitMqTransport[] = [];
  // One transport, default wire (CloudEvents): only the entry that names Ecotone gets Ecotone's headers.
  const transport = () => {
    const made = new RabbitMqTransport({ url: RABBIT_URL, exchange });
    transports.push(made);
    return made;
  };
  const services = {
    'php-billing': { channel: phpQueue, wire: 'ecotone', subscribes: ['invoice.*'] },
    [syB]: { channel: syB },
  } as const;

  beforeAll(async () => {
    admin = await amqp.connect(RABBIT_URL);
    const channel = await admin.createChannel();
    // What the Ecotone service declares on its side: its queue, bound to the events it subscribes to.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(phpQueue, { durable: true });
    await channel.bindQueue(phpQueue, exchange, 'invoice.#');
    await channel.assertQueue(auditQueue, { durable: true });
    await channel.bindQueue(auditQueue, exchange, 'audit.#');
    await channel.close();
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await admin?.close();
    await deleteObjects([phpQueue, auditQueue, syB, `${exchange}.topology.${syB}`], [exchange, `${exchange}.delay`]);
  });

  it('writes Ecotone headers only for the Ecotone entry, and the Switchyard service reads an Ecotone command', async () => {
    const charged: Array<{ payload: unknown; headers: MessageHeaders }> = [];
    const paid: Array<{ payload: unknown; headers: MessageHeaders }> = [];
    const receiver = createService({ name: syB, transport: transport(), services, handleSignals: false });
    receiver.handle(ChargeOrder, (payload, ctx) => void charged.push({ payload, headers: ctx.headers }), {
      distributed: true,
    });
    receiver.handle(InvoicePaid, (payload, ctx) => void paid.push({ payload, headers: ctx.headers }), {
      distributed: true,
    });
    const sender = createService({ name: unique('sy-a'), transport: transport(), services, handleSignals: false });
    const channel = await admin.createConfirmChannel();
    try {
      await receiver.start();
      await sender.start();
      await sender.distributedBus.sendCommand('php-billing', ChargeOrder, { orderId: 'o-php' });
      await sender.distributedBus.sendCommand(syB, ChargeOrder, { orderId: 'o-sy' });
      await sender.distributedBus.publishEvent(InvoicePaid, { invoice: 7 });
      await sender.distributedBus.publishEvent(AuditLogged, { line: 'x' });

      const ecotoneCommand = await getOne(channel, phpQueue);
      expect(ecotoneCommand.properties.headers).toMatchObject({
        'ecotone.distributed.payloadType': 'command',
        'ecotone.distributed.routingKey': 'billing.charge',
        'ecotone.distributed.targetServiceName': 'php-billing',
        'ce-type': 'billing.charge',
      });
      // The event reaches the Ecotone queue (it subscribes to invoice.*) with Ecotone's headers ...
      const ecotoneEvent = await getOne(channel, phpQueue);
      expect(ecotoneEvent.properties.headers).toMatchObject({
        'ecotone.distributed.payloadType': 'event',
        'ecotone.distributed.routingKey': 'invoice.paid',
      });
      // ... an event no Ecotone entry subscribes to carries CloudEvents attributes only.
      const plainEvent = await getOne(channel, auditQueue);
      expect(plainEvent.properties.headers?.['ce-type']).toBe('audit.logged');
      expect(Object.keys(plainEvent.properties.headers ?? {}).filter((name) => !name.startsWith('ce-'))).toEqual([]);

      // An Ecotone command (the golden vector, addressed to the Switchyard service) on the same broker.
      const v = vector('ecotone-command');
      channel.sendToQueue(syB, Buffer.from('{"orderId":"o-ecotone"}'), {
        contentType: v.contentType,
        headers: {
          ...v.headers,
          'ecotone.distributed.routingKey': 'billing.charge',
          'ecotone.distributed.targetServiceName': syB,
        },
        persistent: true,
      });
      await channel.waitForConfirms();
      await waitFor(() => charged.length === 2 && paid.length === 1, 'both commands and the event handled');
      const bySource = Object.fromEntries(charged.map((c) => [(c.payload as { orderId: string }).orderId, c.headers]));
      expect(bySource['o-sy']?.metadata).toEqual({});
      expect(bySource['o-ecotone']).toMatchObject({
        source: 'php-checkout',
        kind: 'command',
        metadata: { tenantId: 'acme' },
      });
      // The Switchyard subscriber of an event written with Ecotone's headers too sees no Ecotone header as metadata.
      expect(paid[0]?.headers.metadata).toEqual({});
      expect(await receiver.deadLetters.list()).toEqual([]);
    } finally {
      await channel.close();
      await Promise.allSettled([receiver.stop(), sender.stop()]);
    }
  });

  it('refuses an Ecotone entry on a transport that cannot write it, at the first send', async () => {
    const sender = createService({
      name: unique('sy-a'),
      transport: 'memory://',
      services: { php: { wire: 'ecotone' } },
      handleSignals: false,
    });
    await sender.start();
    try {
      await expect(sender.distributedBus.sendCommand('php', ChargeOrder, { orderId: 'o' })).rejects.toMatchObject({
        code: 'SY_CONFIGURATION',
        message: expect.stringContaining("wire 'ecotone'"),
      });
    } finally {
      await sender.stop();
    }
  });
});

/** The next message on `queue`: sends resolve on the broker's confirm, so it is there already. */
async function getOne(channel: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  const got = await channel.get(queue, { noAck: true });
  if (got === false) throw new Error(`nothing on ${queue}`);
  return got;
}
