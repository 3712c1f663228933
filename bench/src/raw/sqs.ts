import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { benchPayload } from '../contract.js';

const BATCH = 10;
/** SendMessageBatch calls in flight at once, and ReceiveMessage loops running at once. */
const SENDERS = 8;
const RECEIVERS = 8;

/**
 * The raw-SDK baseline for the SQS transport: the same work with plain
 * `@aws-sdk/client-sqs` and nothing else. Producers send `messages` messages
 * with SendMessageBatch (10 per call, 8 calls in flight, every entry checked);
 * 8 receive loops read them (ReceiveMessage, 10 per call, long polling), parse
 * each body, and acknowledge each received batch with one DeleteMessageBatch. Bodies are
 * shaped like the transport's (a CloudEvents structured JSON document).
 * Returns end-to-end throughput: messages divided by the time from the first
 * send to the last delete.
 *
 * Uses its own random queue and deletes it afterwards; the endpoint may be
 * shared. Credentials are static (`test`), for an emulator such as fauxqs.
 */
export async function rawSqsBaseline(opts: { endpoint: string; messages: number }): Promise<{ msgsPerSec: number }> {
  const { endpoint, messages } = opts;
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    useQueueUrlAsEndpoint: false,
  });
  const created = await sqs.send(
    new CreateQueueCommand({ QueueName: `sy-bench-raw-${randomBytes(6).toString('hex')}` }),
  );
  const queueUrl = created.QueueUrl as string;
  try {
    const start = performance.now();
    let received = 0;
    let deleted = 0;
    let end = 0;
    const receive = async () => {
      while (received < messages) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 1 }),
        );
        const batch: Message[] = out.Messages ?? [];
        if (batch.length === 0) continue;
        // Read every message, as the transport does (the structured envelope is the whole body).
        for (const message of batch) JSON.parse(message.Body ?? 'null');
        received += batch.length;
        const acked = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        if ((acked.Failed ?? []).length > 0) throw new Error(`raw SQS: ${acked.Failed?.length} deletes failed`);
        deleted += batch.length;
        // Timed at the last delete, not when the idle long polls of the other loops return.
        if (deleted >= messages && end === 0) end = performance.now();
      }
    };
    let next = 0;
    const send = async () => {
      while (next < messages) {
        const first = next;
        next = Math.min(messages, next + BATCH);
        const entries = [];
        for (let i = first; i < next; i++) entries.push({ Id: `e${i - first}`, MessageBody: bodyFor(randomUUID(), i) });
        const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if ((out.Failed ?? []).length > 0) throw new Error(`raw SQS: ${out.Failed?.length} entries refused`);
      }
    };
    await Promise.all([...Array.from({ length: RECEIVERS }, receive), ...Array.from({ length: SENDERS }, send)]);
    const seconds = (end - start) / 1000;
    return { msgsPerSec: Math.round(messages / seconds) };
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    sqs.destroy();
  }
}

function bodyFor(id: string, seq: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id,
    type: 'bench.message',
    source: 'bench',
    time: '2026-01-01T00:00:00.000Z',
    kind: 'message',
    correlationid: id,
    attempt: '1',
    datacontenttype: 'application/json',
    data: benchPayload(seq),
  });
}
