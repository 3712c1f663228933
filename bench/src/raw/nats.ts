import { randomBytes, randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
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
import { benchHeaders, benchPayload, nowMs } from '../contract.js';

/** Options of {@link rawNatsBaseline}. */
export interface RawNatsOptions {
  /** `host:port` of the server. */
  readonly server: string;
  readonly messages: number;
  /** Pull batch of the consumer (`max_messages`), as the transport's prefetch. */
  readonly batch: number;
  /** Publishes awaiting their PubAck at once, as the framework's concurrent senders. */
  readonly inFlight: number;
  /**
   * `request` (default): the client's `js.publish`, one request per message. `async`: plain
   * publishes with a reply subject and one reply subscription for all PubAcks, the way the
   * transport publishes (and the Go client's `PublishAsync`).
   */
  readonly publish?: 'request' | 'async';
}

/**
 * The raw-client baseline for the NATS transport: the same durable work with
 * plain `@nats-io/transport-node` + `@nats-io/jetstream`. A stream like the
 * transport's (file storage, interest retention, one durable pull consumer
 * with explicit acks). The producer, in this thread on its own connection,
 * publishes every message with a `Nats-Msg-Id` and awaits each PubAck, with
 * `inFlight` publishes outstanding; the consumer, in a long-lived worker
 * thread with its own connection (as the framework's consumer service), pulls
 * with the client's own `consume({ max_messages: batch })` loop, reads every
 * message (headers and payload JSON) and acks it. Messages carry CloudEvents
 * headers shaped like the framework's and the same JSON payload. Both
 * connections set `noAsyncTraces`, as the transport does. Returns
 * end-to-end throughput: messages over the time from the first publish to the
 * last ack. Uses its own stream and deletes it afterwards.
 */
export async function rawNatsBaseline(opts: RawNatsOptions): Promise<{ msgsPerSec: number }> {
  const stream = `sybench_raw_${randomBytes(5).toString('hex')}`;
  const subject = `${stream}.ch.bench`;
  const nc = await connect({ servers: opts.server, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${stream}.>`],
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      duplicate_window: 120_000_000_000,
    });
    await jsm.consumers.add(stream, {
      durable_name: 'bench',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000_000_000,
      max_ack_pending: 20_000,
      max_deliver: -1,
      filter_subject: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const done = run(worker(), {
      server: opts.server,
      stream,
      consumer: 'bench',
      messages: opts.messages,
      batch: opts.batch,
    });
    const js = jetstream(nc);
    const publishAsync = opts.publish === 'async' ? asyncPublisher(nc) : undefined;
    const started = nowMs();
    let next = 0;
    const publisher = async () => {
      while (next < opts.messages) {
        const seq = next++;
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
      }
    };
    await Promise.all(Array.from({ length: opts.inFlight }, publisher));
    const finished = await done;
    return { msgsPerSec: Math.round(opts.messages / ((finished - started) / 1000)) };
  } finally {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {});
    await nc.close();
  }
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

let consumerThread: Worker | undefined;

function worker(): Worker {
  if (consumerThread === undefined) {
    consumerThread = new Worker(new URL('./nats-worker.js', import.meta.url));
    consumerThread.unref();
  }
  return consumerThread;
}

/** Start one consumer run in the worker; resolves with the time of its last ack. */
function run(thread: Worker, job: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { finished?: number; error?: string }) => {
      thread.off('message', onMessage);
      thread.off('error', reject);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.finished as number);
    };
    thread.on('message', onMessage);
    thread.once('error', reject);
    thread.postMessage(job);
  });
}
