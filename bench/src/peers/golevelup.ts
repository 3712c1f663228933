import 'reflect-metadata';
import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchPayload } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';
import { deleteQueue, type NestPeerOptions } from './nest.js';

const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

function connection(options: NestPeerOptions): AmqpConnection {
  return new AmqpConnection({
    uri: options.url,
    prefetchCount: options.prefetch,
    logger: silent,
    enableDirectReplyTo: false,
    connectionInitOptions: { wait: true, timeout: 10_000, reject: true },
  } as ConstructorParameters<typeof AmqpConnection>[0]);
}

/**
 * `@golevelup/nestjs-rabbitmq`, consumer side: an `AmqpConnection` (the
 * library's core, what its `@RabbitSubscribe` handlers run on) with a
 * subscriber on a durable queue, prefetch `prefetch`; the library acks
 * each message after the handler's promise resolved.
 */
export async function startGolevelupConsumer(options: NestPeerOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const amqp = connection(options);
  await amqp.init();
  await amqp.createSubscriber(
    async (message: { sentAt: number } | undefined) => {
      if (message !== undefined) onHandled(message.sentAt);
    },
    { queue: options.queue, queueOptions: { durable: true } },
    'bench',
  );
  return {
    async stop() {
      await amqp.close();
      await deleteQueue(options.url, options.queue);
    },
  };
}

/**
 * `@golevelup/nestjs-rabbitmq`, producer side: `AmqpConnection.publish` of a
 * persistent message to the queue through the default exchange, awaited:
 * it publishes on amqp-connection-manager's confirm channel and resolves at
 * the publisher confirm.
 */
export async function golevelupProducer(options: NestPeerOptions): Promise<BenchProducer> {
  const amqp = connection(options);
  await amqp.init();
  return {
    async send(seq) {
      await amqp.publish('', options.queue, benchPayload(seq), { persistent: true });
    },
    stop: () => amqp.close(),
  };
}
