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
import { RabbitMqTransport } from '../src/index.js';
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

  /** What `RabbitMqMessagePublisher` did, now through core's MessagePublisher over the transport's `sendEndpoint`. */
  const publisher = () => {
    const transport = new RabbitMqTransport({
      url: RABBIT_URL,
      exchange: unique('sy-test-foreign-own'),
      connectionName: unique('sy-test'),
    });
    closers.push(transport);
    return new MessagePublisher(transport);
  };

  it('publishes raw payloads with routing key, headers, content type and message id, persistent and confirmed', async () => {
    const channel = await admin.createChannel();
    const own = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(own, exchange, 'raw.check');
    await publisher().publish(exchange, [
      { routingKey: 'raw.check', payload: { hello: 'world' }, headers: { tenant: 't1', version: '2' }, id: 'm-1' },
      { routingKey: 'raw.check', payload: new TextEncoder().encode('plain bytes'), contentType: 'text/plain' },
    ]);
    const first = await channel.get(own, { noAck: true });
    const second = await channel.get(own, { noAck: true });
    if (first === false || second === false) throw new Error('the published messages are missing');
    expect(JSON.parse(first.content.toString())).toEqual({ hello: 'world' });
    expect(first.properties).toMatchObject({ contentType: 'application/json', messageId: 'm-1', deliveryMode: 2 });
    expect(first.properties.headers).toEqual({ tenant: 't1', version: '2' });
    expect(second.content.toString()).toBe('plain bytes');
    expect(second.properties.contentType).toBe('text/plain');
    await channel.close();
  });

  it('rejects a publish to a missing exchange, and an unroutable mandatory one; without mandatory the exchange drops it', async () => {
    const messages = publisher();
    await expect(messages.publish(unique('sy-missing'), { routingKey: 'a', payload: 1 })).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
    await expect(
      messages.publish(exchange, { routingKey: 'nobody.listens', payload: 1, mandatory: true }),
    ).rejects.toMatchObject({ code: ErrorCode.SendFailed, message: expect.stringContaining('nobody.listens') });
    await expect(messages.publish(exchange, { routingKey: 'nobody.listens', payload: 1 })).resolves.toBeUndefined();
    // A mandatory message that a queue took is confirmed as usual.
    const channel = await admin.createChannel();
    const own = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(own, exchange, 'mandatory.taken');
    await expect(
      messages.publish(exchange, { routingKey: 'mandatory.taken', payload: 1, mandatory: true }),
    ).resolves.toBeUndefined();
    expect((await channel.checkQueue(own)).messageCount).toBe(1);
    await channel.close();
  });

  it('consumeEndpoint dead-letters malformed foreign input with its reason and keeps consuming', async () => {
    // What the removed standalone consumer did, now through the service pipeline: nothing is dropped or requeued forever.
    const handled: Array<{ orderId: string; tenant: string | undefined }> = [];
    const transport = new RabbitMqTransport({ url: RABBIT_URL, exchange: unique('sy-test-foreign-own') });
    closers.push(transport);
    const service = createService({
      name: unique('sy-test-foreign-svc'),
      transport,
      maxMessageBytes: 1_000,
      handleSignals: false,
    });
    service.consumeEndpoint(
      { endpoint: queue, messageName: 'legacy.order.created', schema: z.object({ orderId: z.string() }) },
      (order, ctx) => void handled.push({ orderId: order.orderId, tenant: ctx.headers.metadata.origin }),
    );
    let dead = 0;
    service.on('deadLettered', () => void dead++);
    await service.start();
    const channel = await admin.createConfirmChannel();
    try {
      const send = (body: string) =>
        channel.publish(exchange, 'legacy.order.created', Buffer.from(body), {
          contentType: 'application/json',
          headers: { origin: 'erp' },
        });
      send('{"orderId":"o-1"}');
      send('{"orderId":42}');
      send('not json at all');
      send('{"__proto__":{"polluted":true},"orderId":"o-x"}');
      send(`{"orderId":"${'x'.repeat(2_000)}"}`);
      send('{"orderId":"o-2"}');
      await channel.waitForConfirms();
      await waitFor(
        () => handled.length === 2 && dead === 4,
        () => `handled ${handled.length}, dead ${dead}`,
      );
      expect(handled).toEqual([
        { orderId: 'o-1', tenant: 'erp' },
        { orderId: 'o-2', tenant: 'erp' },
      ]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const records = await service.deadLetters.list();
      expect(records.map((r) => r.reason.code).sort()).toEqual(
        [ErrorCode.Decode, ErrorCode.Decode, ErrorCode.TooLarge, ErrorCode.Validation].sort(),
      );
      expect(records.every((r) => r.channel === queue && r.messageId.length > 0)).toBe(true);
      // Dead letters are the service's, not the broker's: the queue's own dead-letter exchange got nothing.
      expect((await channel.checkQueue(deadQueue)).messageCount).toBe(0);
    } finally {
      await channel.close();
      await service.stop();
    }
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
