import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Delivery, TransportMessage } from '@switchyard/core/transport';
import amqp from 'amqplib';
import { afterAll } from 'vitest';
import { RabbitMqTransport, type RabbitMqTransportOptions } from '../src/index.js';

const run = promisify(execFile);

/** The broker every test of this package talks to. */
export const RABBIT_URL = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** The broker as skip messages name it. */
export const RABBIT_NAME = `RabbitMQ at ${new URL(RABBIT_URL).host}`;

/** A unique name for one test's broker objects. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Rejects unless the broker accepts an AMQP connection within 3 s. */
export async function probeRabbit(): Promise<void> {
  const connection = await amqp.connect(RABBIT_URL, { timeout: 3_000 });
  await connection.close();
}

/**
 * Force-close the connections whose `connection_name` starts with `prefix`,
 * as a broker-side drop would; other suites running at the same time on the
 * broker keep theirs. Falls back to closing every connection where `eval` is
 * not allowed. Resolves with how many connections were closed (NaN after the fallback).
 */
export async function dropConnections(prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`unsafe connection prefix '${prefix}'`);
  const expression = `[rabbit_networking:close_connection(proplists:get_value(pid, I), "switchyard test: connection dropped") || I <- rabbit_networking:connection_info_all([pid, client_properties]), case lists:keyfind(<<"connection_name">>, 1, proplists:get_value(client_properties, I, [])) of {_, longstr, N} -> binary:match(N, <<"${prefix}">>) =:= {0, ${Buffer.byteLength(prefix)}}; _ -> false end].`;
  try {
    const { stdout } = await run('rabbitmqctl', ['eval', expression]);
    return (stdout.match(/ok/g) ?? []).length;
  } catch {
    await run('rabbitmqctl', ['close_all_connections', 'switchyard test: connection dropped']);
    return Number.NaN;
  }
}

/**
 * Whether queue `name` exists, from `rabbitmqctl list_queues`: a passive declare
 * (checkQueue) would count as use and restart the queue's `x-expires` clock.
 */
export async function queueExists(name: string): Promise<boolean> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', '--quiet', '--no-table-headers']);
  return stdout.split('\n').some((line) => line.trim() === name);
}

/** Delete queues and exchanges a test declared, on a connection of its own; ignores missing ones. */
export async function deleteObjects(queues: readonly string[], exchanges: readonly string[] = []): Promise<void> {
  const connection = await amqp.connect(RABBIT_URL);
  try {
    for (const queue of queues) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of exchanges) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** A message with the headers core would write. */
export function message(body: unknown, extra: Partial<TransportMessage> = {}): TransportMessage {
  const id = extra.id ?? randomUUID();
  return {
    id,
    headers: { 'ce-id': id, 'ce-type': 'test.message', 'content-type': 'application/json', ...extra.headers },
    body: new TextEncoder().encode(JSON.stringify(body)),
    ...(extra.key === undefined ? {} : { key: extra.key }),
    ...(extra.deliverAt === undefined ? {} : { deliverAt: extra.deliverAt }),
  };
}

/** The JSON payload of a received message. */
export function payloadOf(message: TransportMessage): unknown {
  return JSON.parse(new TextDecoder().decode(message.body));
}

/**
 * Transports on one exchange of the test's own, and unique channels; closes
 * the transports and deletes the channels (with their topology records) and
 * the exchanges after the suite. Call inside a describe block.
 */
export function brokerFixture() {
  const exchange = unique('sy-test-x');
  const queues: string[] = [];
  const transports: RabbitMqTransport[] = [];
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await deleteObjects(queues, [exchange, `${exchange}.delay`]);
  });
  return {
    exchange,
    open(options: RabbitMqTransportOptions = {}): RabbitMqTransport {
      const transport = new RabbitMqTransport({
        url: RABBIT_URL,
        exchange,
        connectionName: unique('sy-test'),
        ...options,
      });
      transports.push(transport);
      return transport;
    },
    channel(name = 'ch'): string {
      const queue = unique(name);
      queues.push(queue, `${exchange}.topology.${queue}`);
      return queue;
    },
    /** A handler that acks and records every delivery. */
    collect() {
      const received: Delivery[] = [];
      const handler = async (delivery: Delivery) => {
        received.push(delivery);
        await delivery.ack();
      };
      return { received, handler };
    },
  };
}
