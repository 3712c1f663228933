import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type ClientProxy,
  ClientProxyFactory,
  Ctx,
  EventPattern,
  type MicroserviceOptions,
  Payload,
  type RmqContext,
  Transport,
} from '@nestjs/microservices';
import amqp from 'amqplib';
import { lastValueFrom } from 'rxjs';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchPayload } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the NestJS peer. */
export interface NestPeerOptions {
  readonly url: string;
  /** A fresh durable queue per run; deleted when the consumer stops. */
  readonly queue: string;
  readonly prefetch: number;
}

/** The handler of the running consumer (one per thread at a time). */
let handled: OnHandled = () => undefined;

/**
 * The peer's event handler, as a Nest controller: `@EventPattern('bench.run')`
 * with `@Payload()` and `@Ctx()`, acking manually after handling
 * (`noAck: false`). Decorators are applied as functions: the bench is
 * compiled without decorator syntax; Nest reads the same metadata.
 */
class BenchController {
  handle(data: { sentAt: number }, context: RmqContext): void {
    handled(data.sentAt);
    context.getChannelRef().ack(context.getMessage());
  }
}
Controller()(BenchController);
EventPattern('bench.run')(
  BenchController.prototype,
  'handle',
  Object.getOwnPropertyDescriptor(BenchController.prototype, 'handle') as PropertyDescriptor,
);
Payload()(BenchController.prototype, 'handle', 0);
Ctx()(BenchController.prototype, 'handle', 1);
class BenchModule {}
Module({ controllers: [BenchController] })(BenchModule);

/**
 * NestJS microservices over RabbitMQ (`Transport.RMQ`), consumer side: a
 * Nest microservice on its own connection consuming a durable queue with
 * prefetch `prefetch` and manual acks.
 */
export async function startNestConsumer(options: NestPeerOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  handled = onHandled;
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(BenchModule, {
    transport: Transport.RMQ,
    options: {
      urls: [options.url],
      queue: options.queue,
      queueOptions: { durable: true },
      noAck: false,
      prefetchCount: options.prefetch,
    },
    logger: false,
  });
  await app.listen();
  return {
    async stop() {
      await app.close();
      await deleteQueue(options.url, options.queue);
    },
  };
}

/**
 * NestJS microservices over RabbitMQ, producer side: a `ClientProxy` on its
 * own connection; each send is `emit('bench.run', payload)` of a persistent
 * message to the durable queue, awaited until its publisher confirm (Nest's
 * RMQ client publishes on amqp-connection-manager's confirm channel and
 * resolves the emit in the confirm callback).
 */
export async function nestProducer(options: NestPeerOptions): Promise<BenchProducer> {
  const client: ClientProxy = ClientProxyFactory.create({
    transport: Transport.RMQ,
    options: { urls: [options.url], queue: options.queue, queueOptions: { durable: true }, persistent: true },
  });
  await client.connect();
  return {
    send: (seq) => lastValueFrom(client.emit('bench.run', benchPayload(seq)), { defaultValue: undefined }),
    stop: () => client.close(),
  };
}

export async function deleteQueue(url: string, queue: string): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
