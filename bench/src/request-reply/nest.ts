import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type ClientProxy,
  ClientProxyFactory,
  Ctx,
  MessagePattern,
  Payload,
  type RmqContext,
  Transport,
} from '@nestjs/microservices';
import type { Channel, Message } from 'amqplib';
import { firstValueFrom } from 'rxjs';
import type { Call } from './load.js';

/** A NestJS microservice answering `bench.sum` over RabbitMQ, and a client that asks it; `close` ends both. */
export interface NestPair {
  readonly call: Call;
  close(): Promise<void>;
}

/**
 * NestJS microservices over RabbitMQ, set up to do what Switchyard does: a
 * durable request queue, persistent requests, manual ack after the handler
 * (`noAck: false`: at-least-once, as Switchyard acks after its handler),
 * prefetch `prefetch`, replies through the client's reply queue (Nest's
 * default, RabbitMQ direct reply-to). Decorators are applied by hand, as
 * functions, so this bench needs no `experimentalDecorators`.
 */
export async function startNestPair(url: string, queue: string, prefetch: number): Promise<NestPair> {
  class SumController {
    sum(data: { a: number; b: number }, context: RmqContext): { total: number } {
      const channel = context.getChannelRef() as Channel;
      channel.ack(context.getMessage() as Message);
      return { total: data.a + data.b };
    }
  }
  const method = Object.getOwnPropertyDescriptor(SumController.prototype, 'sum') as PropertyDescriptor;
  MessagePattern('bench.sum')(SumController.prototype, 'sum', method);
  Payload()(SumController.prototype, 'sum', 0);
  Ctx()(SumController.prototype, 'sum', 1);
  Controller()(SumController);
  class BenchModule {}
  Module({ controllers: [SumController] })(BenchModule);

  const rmq = { urls: [url], queue, queueOptions: { durable: true }, persistent: true };
  const server = await NestFactory.createMicroservice(BenchModule, {
    transport: Transport.RMQ,
    options: { ...rmq, noAck: false, prefetchCount: prefetch },
    logger: false,
  });
  await server.listen();
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.RMQ, options: rmq });
  await client.connect();
  return {
    call: (n) => firstValueFrom(client.send('bench.sum', { a: n, b: 1 })),
    async close() {
      await client.close();
      await server.close();
    },
  };
}
