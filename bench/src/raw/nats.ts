import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import {
  connect,
  createInbox,
  type MsgHdrs,
  type NatsConnection,
  headers as natsHeaders,
} from '@nats-io/transport-node';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the raw NATS JetStream baseline. */
export interface RawNatsOptions {
  /** `host:port` of the server. */
  readonly server: string;
  /** A fresh stream per run: the consumer creates it with its durable consumer and deletes it when stopped. */
  readonly stream: string;
  /** Pull batch of the consumer (`max_messages`), as the transport's prefetch. */
  readonly batch: number;
  /**
   * `async` (default): plain publishes with a reply subject and one reply subscription for all
   * PubAcks, the way the transport publishes (and the Go client's `PublishAsync`). `request`:
   * the client's `js.publish`, one request per message.
   */
  readonly publish?: 'request' | 'async';
}

const CONSUMER = 'bench';
const subjectOf = (stream: string) => `${stream}.ch.bench`;

/**
 * The raw baseline's consumer: plain `@nats-io/jetstream` on its own
 * connection (`noAsyncTraces`, as the transport's). It creates a stream like
 * the transport's (file storage, interest retention, a 2-minute duplicate
 * window) with one durable pull consumer (explicit acks), then runs the
 * client's own pull loop (`consume({ max_messages: batch })`): every message
 * is read (headers and JSON payload), handled, then acked. `stop` ends the
 * loop, flushes the acks and deletes the stream.
 */
export async function startRawNatsConsumer(options: RawNatsOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const nc = await connect({ servers: options.server, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: options.stream,
    subjects: [`${options.stream}.>`],
    retention: RetentionPolicy.Interest,
    storage: StorageType.File,
    duplicate_window: 120_000_000_000,
  });
  await jsm.consumers.add(options.stream, {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000_000_000,
    max_ack_pending: 20_000,
    max_deliver: -1,
    filter_subject: subjectOf(options.stream),
    deliver_policy: DeliverPolicy.All,
  });
  const consumer = await jetstream(nc).consumers.get(options.stream, CONSUMER);
  const messages = await consumer.consume({ max_messages: options.batch });
  const loop = (async () => {
    for await (const msg of messages) {
      const attributes: Record<string, string> = {};
      // Iterating reads the client's map once; keys() + get() scans every key per get.
      if (msg.headers) for (const [name, values] of msg.headers) attributes[name] = values[0] ?? '';
      onHandled((readRawMessage(attributes, msg.string()) as { sentAt: number }).sentAt);
      msg.ack();
    }
  })();
  return {
    async stop() {
      await messages.close();
      await loop.catch(() => undefined);
      await nc.flush();
      await jsm.streams.delete(options.stream).catch(() => undefined);
      await nc.close();
    },
  };
}

/**
 * The raw baseline's producer, on its own connection: each `send` publishes
 * one message to the stream's subject with the framework's headers (and
 * `ce-datacontenttype`, which the transport writes too) and a `Nats-Msg-Id`,
 * and resolves at its PubAck (the stream stored it). Concurrent sends are
 * pipelined on the connection, as the transport's are.
 */
export async function rawNatsProducer(options: RawNatsOptions): Promise<BenchProducer> {
  const nc = await connect({ servers: options.server, noAsyncTraces: true });
  const subject = subjectOf(options.stream);
  const js = jetstream(nc);
  const publishAsync = options.publish === 'request' ? undefined : asyncPublisher(nc);
  return {
    async send(seq) {
      const id = randomUUID();
      const h = natsHeaders();
      for (const [name, value] of Object.entries(benchHeaders(id))) h.set(name, value);
      // The NATS binding's name for the content type, which the transport writes as well.
      h.set('ce-datacontenttype', 'application/json');
      const body = JSON.stringify(benchPayload(seq));
      if (publishAsync) {
        h.set('Nats-Msg-Id', id);
        await publishAsync(subject, body, h);
      } else await js.publish(subject, body, { msgID: id, headers: h });
    },
    async stop() {
      await nc.close();
    },
  };
}

/** Publish with a reply subject; one subscription resolves every PubAck by its token. */
function asyncPublisher(nc: NatsConnection): (subject: string, body: string, h: MsgHdrs) => Promise<void> {
  const inbox = createInbox();
  const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  nc.subscribe(`${inbox}.*`, {
    callback: (_error, msg) => {
      const token = msg.subject.slice(inbox.length + 1);
      const entry = waiting.get(token);
      if (!entry) return;
      waiting.delete(token);
      const ack = msg.json<{ error?: { description?: string } }>();
      if (ack.error) entry.reject(new Error(ack.error.description ?? 'publish refused'));
      else entry.resolve();
    },
  });
  let next = 0;
  return (subject, body, h) =>
    new Promise<void>((resolve, reject) => {
      const token = (next++).toString(36);
      waiting.set(token, { resolve, reject });
      nc.publish(subject, body, { reply: `${inbox}.${token}`, headers: h });
    });
}
