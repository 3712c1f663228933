import { parentPort } from 'node:worker_threads';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nowMs, readRawMessage } from '../contract.js';

/**
 * The consumer side of the raw NATS baseline (see nats.ts), in a long-lived
 * thread with its own connection: per job, the client's own pull loop
 * (`consume({ max_messages: batch })`) on the job's durable consumer; every
 * message is read (headers, JSON payload) and acked. Posts the time of the
 * last ack.
 */
let connection: Promise<NatsConnection> | undefined;

parentPort?.on(
  'message',
  (job: { server: string; stream: string; consumer: string; messages: number; batch: number }) => {
    void consume(job).then(
      (finished) => parentPort?.postMessage({ finished }),
      (error: unknown) => parentPort?.postMessage({ error: String(error) }),
    );
  },
);

async function consume(job: {
  server: string;
  stream: string;
  consumer: string;
  messages: number;
  batch: number;
}): Promise<number> {
  connection ??= connect({ servers: job.server, noAsyncTraces: true });
  const js = jetstream(await connection);
  const consumer = await js.consumers.get(job.stream, job.consumer);
  const messages = await consumer.consume({ max_messages: job.batch });
  let received = 0;
  for await (const msg of messages) {
    const h = msg.headers;
    const attributes: Record<string, string> = {};
    if (h) for (const name of h.keys()) attributes[name] = h.get(name);
    readRawMessage(attributes, msg.string());
    msg.ack();
    if (++received === job.messages) break;
  }
  await messages.close();
  await (await connection).flush();
  return nowMs();
}
