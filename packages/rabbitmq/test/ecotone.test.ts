import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createService, defineCommand, defineEvent, type MessageHeaders } from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
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

/** The golden vectors live in docs/wire-format.md, so the document and the code cannot drift apart. */
const doc = readFileSync(fileURLToPath(new URL('../../../docs/wire-format.md', import.meta.url)), 'utf8');
const vector = (name: string): EcotoneVector => {
  const match = doc.match(new RegExp(`\`\`\`json vector:${name}\\n([\\s\\S]*?)\`\`\``));
  if (!match?.[1]) throw new Error(`vector ${name} is missing from docs/wire-format.md`);
  return JSON.parse(match[1]) as EcotoneVector;
};

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
