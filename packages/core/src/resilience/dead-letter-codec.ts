import { ErrorCode, SwitchyardError } from '../errors.js';
import type { TransportMessage } from '../transport/types.js';
import { matchesFilter } from './memory-stores.js';
import type { DeadLetterFilter, DeadLetterRecord } from './stores.js';

/**
 * One dead-letter record as one JSON document (the original body in base64),
 * for stores that keep records on a broker as messages or values: RabbitMQ,
 * Redis, SQS, Kafka. The encoding is stable across versions: fields are only
 * added, never renamed. `decodeDeadLetter(encodeDeadLetter(r))` deep-equals `r`.
 */
export function encodeDeadLetter(record: DeadLetterRecord): string {
  const { message, ...rest } = record;
  return JSON.stringify({
    v: 1,
    ...rest,
    message: {
      id: message.id,
      headers: message.headers,
      body: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('base64'),
      ...(message.key !== undefined ? { key: message.key } : {}),
      ...(message.deliverAt !== undefined ? { deliverAt: message.deliverAt } : {}),
    },
  });
}

/** The record encoded by {@link encodeDeadLetter}. Throws SY_DECODE for anything else. */
export function decodeDeadLetter(text: string | Uint8Array): DeadLetterRecord {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new SwitchyardError(ErrorCode.Decode, 'dead-letter record is not JSON', { cause: error });
  }
  const message = raw.message as Record<string, unknown> | undefined;
  const reason = raw.reason as Record<string, unknown> | undefined;
  if (
    raw.v !== 1 ||
    typeof raw.id !== 'string' ||
    typeof raw.messageId !== 'string' ||
    typeof raw.messageName !== 'string' ||
    typeof raw.service !== 'string' ||
    typeof raw.channel !== 'string' ||
    typeof raw.attempts !== 'number' ||
    typeof raw.firstAttemptAt !== 'string' ||
    typeof raw.deadLetteredAt !== 'string' ||
    typeof reason?.code !== 'string' ||
    typeof reason.message !== 'string' ||
    typeof message?.id !== 'string' ||
    typeof message.body !== 'string' ||
    typeof message.headers !== 'object' ||
    message.headers === null
  ) {
    throw new SwitchyardError(ErrorCode.Decode, 'dead-letter record lacks required fields');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers as Record<string, unknown>)) {
    if (typeof value === 'string') headers[name] = value;
  }
  const body = Buffer.from(message.body, 'base64');
  const original: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: message.id,
    headers,
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
  };
  if (typeof message.key === 'string') original.key = message.key;
  if (typeof message.deliverAt === 'number') original.deliverAt = message.deliverAt;
  return {
    id: raw.id,
    messageId: raw.messageId,
    messageName: raw.messageName,
    service: raw.service,
    ...(typeof raw.handler === 'string' ? { handler: raw.handler } : {}),
    channel: raw.channel,
    reason: {
      code: reason.code,
      message: reason.message,
      ...(typeof reason.stack === 'string' ? { stack: reason.stack } : {}),
    },
    attempts: raw.attempts,
    firstAttemptAt: raw.firstAttemptAt,
    deadLetteredAt: raw.deadLetteredAt,
    message: original,
  };
}

/**
 * `records` filtered, sorted oldest first (stable), paged by `offset` and `limit` (default 1,000):
 * {@link DeadLetterStore.list} for stores that read every record and filter in this process.
 */
export function selectDeadLetters(
  records: Iterable<DeadLetterRecord>,
  filter: DeadLetterFilter = {},
): DeadLetterRecord[] {
  const offset = filter.offset ?? 0;
  const matching = [...records].filter((record) => matchesFilter(record, filter));
  matching.sort((a, b) => Date.parse(a.deadLetteredAt) - Date.parse(b.deadLetteredAt));
  return matching.slice(offset, offset + (filter.limit ?? 1_000));
}

/** Count of `records` matching `filter` (its paging ignored). */
export function countDeadLetters(records: Iterable<DeadLetterRecord>, filter: DeadLetterFilter = {}): number {
  let count = 0;
  for (const record of records) if (matchesFilter(record, filter)) count++;
  return count;
}
