import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import {
  type AsyncApiDocument,
  contractJsonSchema,
  SchemaConversionError,
  snsTopicName,
  sqsQueueName,
  toAsyncApi,
  toYaml,
} from '@switchyard/asyncapi';
import { createService, defineCommand, defineEvent, type Service } from '@switchyard/core';
import { queueName, topicName } from '@switchyard/sqs';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as shop from '../../../examples/shop/src/system.js';

const committed = fileURLToPath(new URL('../../../docs/asyncapi/shop.yaml', import.meta.url));

/** Error-severity diagnostics (severity 0) of the official parser, as `code path: message` lines. */
async function errors(document: AsyncApiDocument | string): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(typeof document === 'string' ? document : toYaml(document));
  return diagnostics.filter((d) => d.severity === 0).map((d) => `${d.code} ${d.path.join('/')}: ${d.message}`);
}

function shopDocument(url: string, service?: string): Promise<AsyncApiDocument> {
  return toAsyncApi(shop.services({ transports: { default: url } }), {
    ...shop.asyncapi,
    sends: shop.sends,
    ...(service ? { service } : {}),
  });
}

describe('toAsyncApi on the shop example', () => {
  it('is a valid AsyncAPI 3.0 document per @asyncapi/parser, and docs/asyncapi/shop.yaml is up to date', async () => {
    const document = await shopDocument('amqp://127.0.0.1:5672/?exchange=switchyard');
    expect(await errors(document)).toEqual([]);
    expect(toYaml(document)).toBe(readFileSync(committed, 'utf8'));
    expect(await errors(readFileSync(committed, 'utf8'))).toEqual([]);
  });

  it('describes servers, channels with AMQP bindings, an operation per handler and per sender, and messages', async () => {
    const doc = (await shopDocument('amqp://guest:secret@rabbit.example:5672/prod?exchange=shop')) as Record<
      string,
      // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
      any
    >;
    expect(doc.servers).toEqual({
      default: { host: 'rabbit.example:5672', protocol: 'amqp', pathname: '/prod', description: expect.any(String) },
    });
    expect(JSON.stringify(doc)).not.toMatch(/secret|guest/);
    expect(doc.channels['inventory-service'].bindings.amqp).toMatchObject({
      is: 'queue',
      queue: { name: 'inventory-service', durable: true, vhost: 'prod' },
    });
    expect(doc.channels['inventory-service.subscription.order.star']).toMatchObject({
      address: 'order.*',
      bindings: { amqp: { is: 'routingKey', exchange: { name: 'shop', type: 'topic' } } },
      messages: { 'order.placed': { $ref: '#/components/messages/order.placed' } },
    });
    expect(Object.keys(doc.operations).sort()).toEqual([
      'inventory-service.receive.ledger',
      'inventory-service.receive.reserve-stock',
      'notification-service.receive.activity-timeline',
      'notification-service.receive.email-confirmation',
      'order-service.receive.place-order',
      'order-service.send.order.placed',
      'order-service.send.stock.reserve',
      'storefront.send.order.place',
    ]);
    expect(doc.operations['order-service.send.stock.reserve']).toMatchObject({
      action: 'send',
      channel: { $ref: '#/channels/inventory-service' },
      messages: [{ $ref: '#/channels/inventory-service/messages/stock.reserve' }],
      bindings: { amqp: { cc: ['inventory-service'], deliveryMode: 2, mandatory: true } },
    });
    expect(doc.operations['order-service.send.order.placed'].bindings.amqp).toMatchObject({ cc: ['order.placed'] });
    const placed = doc.components.messages['order.placed'];
    expect(placed.headers.allOf[0]).toEqual({ $ref: '#/components/schemas/CloudEventsHeaders' });
    expect(placed.headers.allOf[1].properties['ce-type']).toEqual({ type: 'string', const: 'order.placed' });
    expect(placed.payload).toMatchObject({ type: 'object', required: ['orderId', 'email', 'items'] });
    expect(doc.components.schemas.CloudEventsHeaders.required).toContain('ce-id');
  });

  it('describes one service: only its operations and what they reference', async () => {
    const doc = (await shopDocument('amqp://127.0.0.1', 'notification-service')) as Record<string, object>;
    expect(Object.keys(doc.operations ?? {})).toEqual([
      'notification-service.receive.activity-timeline',
      'notification-service.receive.email-confirmation',
    ]);
    expect(Object.keys(doc.channels ?? {})).toEqual([
      'notification-service.subscription.order.hash',
      'notification-service.subscription.order.placed',
    ]);
    expect(await errors(doc as AsyncApiDocument)).toEqual([]);
    await expect(shopDocument('amqp://127.0.0.1', 'nobody')).rejects.toThrow(/service 'nobody' is not among/);
  });

  it.each([
    ['kafka://127.0.0.1:9092,127.0.0.1:9093?topicPrefix=shop.', 'kafka', 'shop.ch.inventory-service'],
    ['sqs://127.0.0.1:4566?region=us-east-1&accessKeyId=AK&secretAccessKey=SECRET', 'sqs', 'inventory-service'],
    ['sqs://?region=eu-west-1&fanout=direct&prefix=prod-', 'sqs', 'prod-inventory-service'],
    ['redis://:hunter2@127.0.0.1:6379?prefix=shop', 'redis', 'shop:ch:inventory-service'],
    ['sqlite:./shop.db', 'sqlite', 'inventory-service'],
    ['memory://shop', 'memory', 'inventory-service'],
    ['postgres://app:pw@db.example:5432/shop', 'postgres', 'inventory-service'],
  ])('is valid on %s, with the transport names and no credentials', async (url, protocol, inbox) => {
    const doc = (await shopDocument(url)) as Record<string, Record<string, Record<string, unknown>>>;
    expect(await errors(doc as unknown as AsyncApiDocument)).toEqual([]);
    expect(doc.servers?.default?.protocol).toBe(protocol);
    expect(doc.channels?.['inventory-service']?.address).toBe(inbox);
    expect(JSON.stringify(doc)).not.toMatch(/SECRET|hunter2|:pw@|AK/);
  });

  it('follows the service map: a service on another broker and channel gets its own server and address', async () => {
    const services = shop.services({
      transports: { default: 'amqp://127.0.0.1', stream: 'kafka://127.0.0.1:9092' },
      services: { 'inventory-service': { transport: 'stream', channel: 'stock-inbox' } },
    });
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = (await toAsyncApi(services, { sends: shop.sends })) as any;
    expect(Object.keys(doc.servers)).toEqual(['default', 'stream']);
    expect(doc.channels['inventory-service.stock-inbox']).toMatchObject({
      address: 'switchyard.ch.stock-inbox',
      servers: [{ $ref: '#/servers/stream' }],
    });
    expect(doc.operations['order-service.send.stock.reserve'].channel).toEqual({
      $ref: '#/channels/inventory-service.stock-inbox',
    });
    expect(doc.channels['order-service'].servers).toEqual([{ $ref: '#/servers/default' }]);
    expect(await errors(doc)).toEqual([]);
  });

  it('binds Kafka receives to their consumer group and SQS events to the SNS topic', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const kafka = (await shopDocument('kafka://127.0.0.1:9092')) as any;
    expect(kafka.operations['inventory-service.receive.ledger'].bindings.kafka.groupId.enum).toEqual([
      'switchyard.events.inventory-service',
    ]);
    expect(kafka.channels['inventory-service.subscription.order.star'].bindings.kafka.topic).toBe('switchyard.events');
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const sqs = (await shopDocument('sqs://127.0.0.1:4566?topic=shop-events')) as any;
    expect(sqs.channels['inventory-service.subscription.order.star'].bindings.sns.name).toBe('shop-events');
    expect(sqs.channels['inventory-service'].bindings.sqs.queue.name).toBe('inventory-service');
  });

  it('names SQS queues and SNS topics exactly as @switchyard/sqs does', () => {
    for (const [prefix, channel, fifo] of [
      ['', 'orders', false],
      ['p-', 'order.placed', false],
      ['', 'x'.repeat(100), true],
      ['', 'svc/billing', true],
    ] as const) {
      expect(sqsQueueName(prefix, channel, fifo)).toBe(queueName(prefix, channel, fifo));
      expect(snsTopicName(`${prefix}${channel}`, fifo)).toBe(topicName(`${prefix}${channel}`, fifo));
    }
  });

  it('the parser does report errors: a broken binding is caught', async () => {
    const doc = (await shopDocument('amqp://127.0.0.1')) as Record<string, Record<string, Record<string, unknown>>>;
    const channel = doc.channels?.['inventory-service'] as { bindings: { amqp: { is: string } } };
    channel.bindings.amqp.is = 'mailbox';
    expect((await errors(doc as unknown as AsyncApiDocument)).length).toBeGreaterThan(0);
  });
});

describe('contract schemas', () => {
  it('converts zod (Standard JSON Schema) and valibot schemas; versions show as ce-dataschema', async () => {
    const Zod = defineEvent('a.zod', z.object({ id: z.string(), n: z.number().optional() }), { version: 2 });
    const Vali = defineCommand('a.valibot', v.object({ id: v.string(), n: v.optional(v.number()) }));
    const expected = {
      type: 'object',
      properties: { id: { type: 'string' }, n: { type: 'number' } },
      required: ['id'],
    };
    expect(await contractJsonSchema(Zod)).toMatchObject(expected);
    expect(await contractJsonSchema(Vali)).toMatchObject(expected);
    const service = createService({ name: 'svc', transport: 'memory://', handleSignals: false });
    service.handle(Zod, () => {}, { distributed: true }).handle(Vali, () => {}, { distributed: true });
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = (await toAsyncApi([service])) as any;
    expect(doc.components.messages['a.zod'].headers.allOf[1].properties['ce-dataschema']).toEqual({
      type: 'string',
      const: 'urn:switchyard:a.zod:v2',
    });
    expect(doc.components.messages['a.zod'].summary).toBe('event (version 2)');
    expect(await errors(doc)).toEqual([]);
  });

  it('names the contract whose schema cannot be converted', async () => {
    const dated = defineEvent('a.dated', z.object({ at: z.date() }));
    await expect(contractJsonSchema(dated)).rejects.toThrow(SchemaConversionError);
    await expect(contractJsonSchema(dated)).rejects.toThrow(/contract 'a\.dated'.*cannot be converted.*zod/);
    const custom = defineEvent('a.custom', {
      '~standard': { version: 1, vendor: 'homemade', validate: (value: unknown) => ({ value }) },
    });
    const service: Service = createService({ name: 'svc2', transport: 'memory://', handleSignals: false });
    service.handle(custom, () => {}, { distributed: true });
    await expect(toAsyncApi([service])).rejects.toThrow(/contract 'a\.custom'.*homemade schema offers no JSON Schema/);
  });

  it('rejects a command send whose target is unknown', async () => {
    const Ping = defineCommand('a.ping', z.object({}));
    const service = createService({ name: 'svc3', transport: 'memory://', handleSignals: false });
    await expect(toAsyncApi([service], { sends: { svc3: [Ping] } })).rejects.toThrow(/declare \{ contract, to/);
  });
});
