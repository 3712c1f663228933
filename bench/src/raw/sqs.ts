import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SendBatcher } from '@switchyard/core/transport';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchPayload } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

const BATCH = 10;
/** SendMessageBatch calls in flight at once (the transport's), and ReceiveMessage loops (`receivers=8`). */
const SENDERS = 8;
const RECEIVERS = 8;

/** Options of both halves of the raw SQS baseline. */
export interface RawSqsOptions {
  readonly endpoint: string;
  /** A fresh queue per run; both halves create it (idempotent), the consumer deletes it when stopped. */
  readonly queue: string;
}

function client(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    useQueueUrlAsEndpoint: false,
  });
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
}

/**
 * The raw baseline's consumer: plain `@aws-sdk/client-sqs` with its own
 * client; 8 receive loops (ReceiveMessage of 10, long polling), each message
 * parsed (the structured envelope is the whole body) and handled, each
 * received batch acknowledged with one DeleteMessageBatch that the loop does
 * not wait for before its next receive, as the transport does not: at most
 * `RECEIVERS × BATCH` messages wait for their delete, beyond that the loops
 * wait (the transport's bound is its prefetch, which the bench sets to the same).
 */
export async function startRawSqsConsumer(options: RawSqsOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const sqs = client(options.endpoint);
  const url = await queueUrl(sqs, options.queue);
  let running = true;
  const deleting = new Set<Promise<void>>();
  let awaitingDelete = 0;
  const receive = async () => {
    while (running) {
      while (awaitingDelete >= RECEIVERS * BATCH) await Promise.race(deleting);
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 1 }),
      );
      const batch: Message[] = out.Messages ?? [];
      if (batch.length === 0) continue;
      for (const message of batch) {
        const envelope = JSON.parse(message.Body ?? 'null') as { data: { sentAt: number } };
        onHandled(envelope.data.sentAt);
      }
      awaitingDelete += batch.length;
      const deleted = sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          }),
        )
        .then((acked) => {
          if ((acked.Failed ?? []).length > 0) throw new Error(`raw SQS: ${acked.Failed?.length} deletes failed`);
        })
        .finally(() => {
          awaitingDelete -= batch.length;
          deleting.delete(deleted);
        });
      deleting.add(deleted);
    }
  };
  const loops = Array.from({ length: RECEIVERS }, receive);
  return {
    async stop() {
      running = false;
      await Promise.allSettled(loops);
      await Promise.allSettled([...deleting]);
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
      sqs.destroy();
    },
  };
}

/**
 * The raw baseline's producer: its own client; concurrent sends coalesce into
 * SendMessageBatch calls of 10 with 8 calls in flight (as the transport's
 * send coalescer does), every entry checked. Bodies are shaped like the
 * transport's (a CloudEvents structured JSON document).
 */
export async function rawSqsProducer(options: RawSqsOptions): Promise<BenchProducer> {
  const sqs = client(options.endpoint);
  const url = await queueUrl(sqs, options.queue);
  const batches = new SendBatcher<string>(
    async (bodies) => {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: bodies.map((body, i) => ({ Id: `e${i}`, MessageBody: body })),
        }),
      );
      if ((out.Failed ?? []).length > 0) throw new Error(`raw SQS: ${out.Failed?.length} entries refused`);
    },
    { maxBatch: BATCH, maxInFlight: SENDERS },
  );
  return {
    send: (seq) => batches.submit([bodyFor(randomUUID(), seq)]),
    async stop() {
      sqs.destroy();
    },
  };
}

function bodyFor(id: string, seq: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id,
    type: 'bench.run',
    source: 'bench-producer-00000-raw',
    time: '2026-01-01T00:00:00.000Z',
    kind: 'command',
    correlationid: id,
    attempt: '1',
    targetservice: 'bench-consumer-00000-raw',
    datacontenttype: 'application/json',
    data: benchPayload(seq),
  });
}
