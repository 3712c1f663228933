import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ConsumeMessage } from 'amqplib';
import { benchHeaders, benchPayload } from '../contract.js';

/**
 * The raw-driver baseline for the RabbitMQ transport: the same durable work
 * with plain amqplib and nothing else. One producer publishes `messages`
 * persistent messages to a durable classic queue through the default exchange
 * on a ConfirmChannel, waiting for the confirms every `confirmEvery` messages
 * (and honouring the channel's write backpressure); one consumer on its own
 * channel with `basic.qos(prefetch)` acks each message manually. Messages
 * carry properties and headers shaped like the transport's (message id,
 * content type, timestamp, CloudEvents `ce-*` headers, a small JSON body).
 * Returns end-to-end throughput: messages divided by the time from the first
 * publish to the last ack.
 *
 * Uses its own randomly named queue and deletes it afterwards; the broker at
 * `url` may be shared.
 */
export async function rawRabbitBaseline(opts: {
  url: string;
  messages: number;
  confirmEvery: number;
  prefetch: number;
}): Promise<{ msgsPerSec: number }> {
  const { url, messages, confirmEvery, prefetch } = opts;
  const queue = `sy-bench-raw-${randomBytes(6).toString('hex')}`;
  const connection = await amqp.connect(url);
  try {
    const producer = await connection.createConfirmChannel();
    const consumer = await connection.createChannel();
    await producer.assertQueue(queue, { durable: true });
    await consumer.prefetch(prefetch);
    const start = performance.now();
    const consumed = consume(consumer, queue, messages);
    for (let sent = 0; sent < messages; ) {
      const end = Math.min(sent + confirmEvery, messages);
      for (; sent < end; sent++) {
        const id = `raw-${sent}`;
        const writable = producer.publish('', queue, Buffer.from(JSON.stringify(benchPayload(sent))), {
          persistent: true,
          messageId: id,
          contentType: 'application/json',
          timestamp: Math.floor(Date.now() / 1000),
          headers: benchHeaders(id),
        });
        if (!writable) await new Promise((resolve) => producer.once('drain', resolve));
      }
      await producer.waitForConfirms();
    }
    await consumed;
    const seconds = (performance.now() - start) / 1000;
    return { msgsPerSec: Math.round(messages / seconds) };
  } finally {
    const cleanup = await connection.createChannel().catch(() => undefined);
    await cleanup?.deleteQueue(queue).catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

function consume(channel: Channel, queue: string, messages: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    channel
      .consume(
        queue,
        (message: ConsumeMessage | null) => {
          if (message === null) {
            reject(new Error(`the consumer of ${queue} was cancelled`));
            return;
          }
          channel.ack(message);
          if (++received === messages) resolve();
        },
        { noAck: false },
      )
      .catch(reject);
  });
}
