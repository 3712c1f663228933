import { createService, defineQuery, InMemoryDeadLetterStore, type Service, type Transport } from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { RabbitMqTransport } from '@switchyard/rabbitmq';
import { z } from 'zod';
import type { BenchArgs, BenchLine } from '../bench-line.js';
import { type Call, measure, type RequestReplyResult } from '../request-reply/load.js';
import { startNestPair } from '../request-reply/nest.js';

const URL = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const Sum = defineQuery('bench.sum', z.object({ a: z.number(), b: z.number() }), z.object({ total: z.number() }));

/** A caller service and a replier service, each on its own transport (as two processes would be), in this process. */
async function switchyardPair(
  runId: string,
  transport: () => Transport,
  concurrency: number,
): Promise<{ call: Call; close(): Promise<void> }> {
  const services: Service[] = [];
  const make = (name: string) => {
    const service = createService({
      name,
      transport: transport(),
      handleSignals: false,
      deadLetters: new InMemoryDeadLetterStore(),
      concurrency,
      telemetry: false,
    });
    services.push(service);
    return service;
  };
  const caller = make(`bench-rr-caller-${runId}`);
  const replier = make(`bench-rr-replier-${runId}`);
  replier.handle(Sum, (query) => ({ total: query.a + query.b }), { distributed: true });
  for (const service of services) await service.start();
  return {
    call: (n) => caller.distributedBus.request(replier.name, Sum, { a: n, b: 1 }, { timeoutMs: 60_000 }),
    close: async () => {
      await Promise.all(services.map((service) => service.stop()));
    },
  };
}

async function measured(
  label: string,
  open: () => Promise<{ call: Call; close(): Promise<void> }>,
  options: { requests: number; inFlight: number },
): Promise<RequestReplyResult> {
  const pair = await open();
  try {
    return await measure(label, pair.call, options);
  } finally {
    await pair.close();
  }
}

/**
 * `npm run bench -- request-reply`: Switchyard's `distributedBus.request` on
 * the in-memory transport and on RabbitMQ, and NestJS microservices
 * `client.send()` over RabbitMQ, in the same run and the same layout: one
 * caller and one replier in this process, each with its own connection; a
 * durable request queue; the replier acks after its handler; 64 requests in
 * flight (`--concurrency`) for the throughput, then p50/p99 at half of each
 * one's own peak rate. Switchyard on RabbitMQ needs the RabbitMQ transport's
 * reply channels (`Transport.replies`); without them that row is skipped,
 * with the reason in the line.
 */
export async function benchRequestReply(args: BenchArgs): Promise<BenchLine> {
  const requests = args.messages ?? 20_000;
  const inFlight = args.concurrency ?? 64;
  const options = { requests, inFlight };
  const broker = new MemoryBroker();
  const memory = await measured(
    'switchyard memory',
    () => switchyardPair(`${args.runId}-mem`, () => new MemoryTransport({ broker }), inFlight),
    options,
  );
  const rabbit = (): Transport => new RabbitMqTransport({ url: URL });
  let switchyardRabbit: RequestReplyResult | string;
  if (rabbit().replies === undefined) {
    switchyardRabbit = 'skipped: the RabbitMQ transport has no reply channels (Transport.replies) yet';
    console.log(`switchyard rabbitmq: ${switchyardRabbit}`);
  } else {
    switchyardRabbit = await measured(
      'switchyard rabbitmq',
      () => switchyardPair(`${args.runId}-amqp`, rabbit, inFlight),
      options,
    );
  }
  const nest = await measured(
    'nestjs rabbitmq',
    () => startNestPair(URL, `bench-rr-nest-${args.runId}`, inFlight),
    options,
  );
  const ratios =
    typeof switchyardRabbit === 'string'
      ? {}
      : {
          rabbitmq_throughput_ratio_vs_nest: round(switchyardRabbit.requestsPerSec / nest.requestsPerSec),
          rabbitmq_p99_ratio_vs_nest: round(switchyardRabbit.p99Ms / nest.p99Ms),
        };
  const primary = typeof switchyardRabbit === 'string' ? memory : switchyardRabbit;
  return {
    transport: 'request-reply',
    // Caller and replier in this process, each with its own connection, for every contender.
    layout: 'single-thread',
    messages: requests,
    framework_msgs_per_s: primary.requestsPerSec,
    raw_msgs_per_s: nest.requestsPerSec,
    ratio: round(primary.requestsPerSec / nest.requestsPerSec),
    // Which two rows `ratio` compares: Switchyard on RabbitMQ when it ran, else on memory (not like for like).
    ratio_of:
      typeof switchyardRabbit === 'string'
        ? 'switchyard memory / nestjs rabbitmq (switchyard rabbitmq skipped)'
        : 'switchyard rabbitmq / nestjs rabbitmq',
    p50_ms: primary.p50Ms,
    p99_ms: primary.p99Ms,
    cpu_us_per_msg: primary.cpuUsPerRequest,
    raw_cpu_us_per_msg: nest.cpuUsPerRequest,
    in_flight: inFlight,
    switchyard_memory: memory,
    switchyard_rabbitmq: switchyardRabbit,
    nestjs_rabbitmq: nest,
    ...ratios,
  };
}

const round = (value: number): number => Math.round(value * 1_000) / 1_000;
