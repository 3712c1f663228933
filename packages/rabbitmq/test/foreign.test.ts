import { createService, MessagePublisher } from '@switchyard/core';
import { ErrorCode } from '@switchyard/core/transport';
import {
  brokerReachable,
  messageConsumerScenario,
  messagePublisherScenario,
  type RawRead,
  waitFor,
} from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ConvertedMessage,
  type ForeignMessage,
  type InvalidMessage,
  RabbitMqMessageConsumer,
  RabbitMqMessagePublisher,
  RabbitMqTransport,
} from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

describe.runIf(reachable)('foreign destinations', () => {
  const exchange = unique('sy-test-foreign-x');
  const deadExchange = unique('sy-test-foreign-dlx');
  const queue = unique('sy-test-foreign-q');
  const deadQueue = unique('sy-test-foreign-dead');
  let admin: ChannelModel;
  const closers: Array<{ close(): Promise<void> }> = [];

  /** A queue bound to the foreign exchange, with dead letters going to `deadQueue`. */
  beforeAll(async () => {
    admin = await amqp.connect(RABBIT_URL);
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await channel.assertExchange(deadExchange, 'fanout', { durable: false });
    await channel.assertQueue(queue, { durable: false, deadLetterExchange: deadExchange });
    await channel.assertQueue(deadQueue, { durable: false });
    await channel.bindQueue(queue, exchange, 'legacy.#');
    await channel.bindQueue(deadQueue, deadExchange, '');
    await channel.close();
  });

  afterAll(async () => {
    await Promise.all(closers.map((c) => c.close()));
    await admin?.close();
    await deleteObjects([queue, deadQueue], [exchange, deadExchange]);
  });

  const publisher = (options: { exchange?: string; mandatory?: boolean } = {}) => {
    const made = new RabbitMqMessagePublisher({
      url: RABBIT_URL,
      exchange,
      connectionName: unique('sy-test'),
      ...options,
    });
    closers.push(made);
    return made;
  };

  it('publishes raw payloads with routing key, headers and content type, confirmed', async () => {
    const channel = await admin.createChannel();
    const own = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(own, exchange, 'raw.check');
    await publisher().publish([
      { routingKey: 'raw.check', payload: { hello: 'world' }, headers: { tenant: 't1', version: 2 }, messageId: 'm-1' },
      { routingKey: 'raw.check', payload: new TextEncoder().encode('plain bytes'), contentType: 'text/plain' },
    ]);
    const first = await channel.get(own, { noAck: true });
    const second = await channel.get(own, { noAck: true });
    if (first === false || second === false) throw new Error('the published messages are missing');
    expect(JSON.parse(first.content.toString())).toEqual({ hello: 'world' });
    expect(first.properties).toMatchObject({ contentType: 'application/json', messageId: 'm-1', deliveryMode: 2 });
    expect(first.properties.headers).toEqual({ tenant: 't1', version: 2 });
    expect(second.content.toString()).toBe('plain bytes');
    expect(second.properties.contentType).toBe('text/plain');
    await channel.close();
  });

  it('rejects a publish to a missing exchange, and an unroutable mandatory one', async () => {
    await expect(
      publisher({ exchange: unique('sy-missing') }).publish({ routingKey: 'a', payload: 1 }),
    ).rejects.toMatchObject({ code: ErrorCode.Configuration });
    await expect(
      publisher({ mandatory: true }).publish({ routingKey: 'nobody.listens', payload: 1 }),
    ).rejects.toMatchObject({ code: ErrorCode.SendFailed });
  });

  it('hands valid foreign JSON to the handler and rejects invalid messages without stopping', async () => {
    const handled: Array<{ message: ConvertedMessage<{ orderId: string }>; raw: ForeignMessage }> = [];
    const invalid: InvalidMessage[] = [];
    const consumer = new RabbitMqMessageConsumer({
      url: RABBIT_URL,
      queue,
      messageName: 'legacy.order.created',
      schema: z.object({ orderId: z.string() }),
      handle: async (message, raw) => {
        handled.push({ message, raw });
      },
      onInvalid: (message) => {
        invalid.push(message);
      },
      maxBytes: 1_000,
    });
    closers.push(consumer);
    await consumer.start();
    const channel = await admin.createChannel();
    const send = (body: string, contentType = 'application/json') =>
      channel.publish(exchange, 'legacy.order.created', Buffer.from(body), { contentType, headers: { origin: 'erp' } });
    send('{"orderId":"o-1"}');
    send('{"orderId":42}');
    send('not json at all');
    send('{"__proto__":{"polluted":true},"orderId":"o-x"}');
    send(`{"orderId":"${'x'.repeat(2_000)}"}`);
    send('{"orderId":"o-2"}');
    await waitFor(() => handled.length === 2 && invalid.length === 4, 'two handled and four invalid messages');
    expect(handled.map((h) => h.message)).toEqual([
      { name: 'legacy.order.created', payload: { orderId: 'o-1' } },
      { name: 'legacy.order.created', payload: { orderId: 'o-2' } },
    ]);
    expect(handled[0]?.raw).toMatchObject({ routingKey: 'legacy.order.created', exchange, headers: { origin: 'erp' } });
    expect(invalid.map((i) => i.error.code)).toEqual([
      ErrorCode.Validation,
      ErrorCode.Decode,
      ErrorCode.Decode,
      ErrorCode.TooLarge,
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Rejected without requeue: the queue's dead-letter exchange has all four.
    const dead: string[] = [];
    await channel.consume(deadQueue, (m) => m && dead.push(m.content.toString()), { noAck: true });
    await waitFor(() => dead.length === 4, 'four dead letters');
    expect(dead).toContain('not json at all');
    await consumer.close();
    await channel.close();
  });

  it('converts with a function, and requeues when the handler fails', async () => {
    const seen: Array<{ name: string; redelivered: boolean }> = [];
    const consumer = new RabbitMqMessageConsumer({
      url: RABBIT_URL,
      queue,
      convert: (raw) => ({ name: raw.routingKey, payload: raw.payload }),
      handle: async (message, raw) => {
        seen.push({ name: message.name, redelivered: raw.redelivered });
        if (seen.length === 1) throw new Error('first attempt fails');
      },
    });
    closers.push(consumer);
    await consumer.start();
    await publisher().publish({ routingKey: 'legacy.invoice.paid', payload: { invoice: 7 } });
    await waitFor(() => seen.length === 2, 'the redelivery');
    expect(seen).toEqual([
      { name: 'legacy.invoice.paid', redelivered: false },
      { name: 'legacy.invoice.paid', redelivered: true },
    ]);
    await consumer.close();
  });

  it('refuses to start on a queue that does not exist, and bad options at construction', async () => {
    const consumer = new RabbitMqMessageConsumer({
      url: RABBIT_URL,
      queue: unique('sy-missing'),
      convert: (raw) => ({ name: 'x', payload: raw.payload }),
      handle: async () => undefined,
      operationTimeoutMs: 2_000,
    });
    closers.push(consumer);
    await expect(consumer.start()).rejects.toMatchObject({ code: ErrorCode.Configuration });
    expect(() => new RabbitMqMessageConsumer({ url: RABBIT_URL, queue, handle: async () => undefined })).toThrow(
      /convert/,
    );
    expect(() => new RabbitMqMessagePublisher({ url: 'http://x', exchange })).toThrow(/amqp/);
  });
});

describe.runIf(reachable)('message consumer through the service pipeline (consumeEndpoint)', () => {
  const endpoint = unique('sy-test-endpoint');
  const convertEndpoint = unique('sy-test-endpoint-convert');
  const service = unique('sy-test-consumer');
  const exchange = unique('sy-test-endpoint-x');
  let admin: ChannelModel;
  const transports: RabbitMqTransport[] = [];

  beforeAll(async () => {
    admin = await amqp.connect(RABBIT_URL);
    const channel = await admin.createChannel();
    for (const queue of [endpoint, convertEndpoint]) await channel.assertQueue(queue, { durable: false });
    await channel.close();
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await admin?.close();
    await deleteObjects(
      [endpoint, convertEndpoint, service, `${exchange}.topology.${service}`],
      [exchange, `${exchange}.delay`],
    );
  });

  it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
    const channel = await admin.createConfirmChannel();
    const produce = (queue: string) => async (payload: unknown) => {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(payload)), { contentType: 'application/json' });
      await channel.waitForConfirms();
    };
    await messageConsumerScenario({
      transport: () => {
        const made = new RabbitMqTransport({ url: RABBIT_URL, exchange });
        transports.push(made);
        return made;
      },
      service,
      endpoint,
      produce: produce(endpoint),
      convertEndpoint: { endpoint: convertEndpoint, produce: produce(convertEndpoint) },
    });
    await channel.close();
  });

  it('start rejects with SY_CONFIGURATION when the endpoint queue does not exist', async () => {
    const made = new RabbitMqTransport({ url: RABBIT_URL, exchange });
    transports.push(made);
    const missing = createService({ name: unique('sy-test-missing'), transport: made, handleSignals: false });
    missing.consumeEndpoint({ endpoint: unique('sy-test-no-such-queue') }, () => undefined);
    await expect(missing.start()).rejects.toMatchObject({ code: ErrorCode.Configuration });
  });
});

describe.runIf(reachable)('message publisher through the transport (MessagePublisher)', () => {
  it('publishes raw messages with caller-chosen headers and routing key to a foreign exchange, confirmed', async () => {
    const exchange = unique('sy-test-pub-x');
    const queue = unique('sy-test-pub-q');
    const admin = await amqp.connect(RABBIT_URL);
    const transport = new RabbitMqTransport({ url: RABBIT_URL, exchange: unique('sy-test-pub-own') });
    try {
      const channel = await admin.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: false });
      await channel.assertQueue(queue, { durable: false });
      await channel.bindQueue(queue, exchange, 'legacy.#');
      await messagePublisherScenario(
        transport,
        exchange,
        async (count) => {
          const read: RawRead[] = [];
          for (let i = 0; i < count; i++) {
            const got = await channel.get(queue, { noAck: true });
            if (got === false) break;
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(got.properties.headers ?? {})) headers[name] = String(value);
            if (got.properties.contentType) headers['content-type'] = String(got.properties.contentType);
            read.push({ body: got.content.toString('utf8'), headers, routingKey: got.fields.routingKey });
          }
          return read;
        },
        { key: false, routingKey: true },
      );
      await expect(
        new MessagePublisher(transport).publish(unique('sy-missing'), { payload: 1, routingKey: 'a' }),
      ).rejects.toMatchObject({ code: ErrorCode.Configuration });
      await channel.close();
    } finally {
      await transport.close();
      await admin.close();
      await deleteObjects([queue], [exchange]);
    }
  });
});
