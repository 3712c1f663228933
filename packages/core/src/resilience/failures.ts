import { createHash } from 'node:crypto';
import { describeError, ErrorCode, SwitchyardError } from '../errors.js';
import { Header } from '../message/codec.js';
import type { Envelope } from '../message/envelope.js';
import type { TransportMessage } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import type { Observers } from '../util/observers.js';
import type { DeadLetterReason, DeadLetterRecord, DeadLetterStore } from './stores.js';

/**
 * Copy of `message` addressed to one handler, with a new attempt number and
 * due time. Same id and payload bytes, so the inbox and tracing still see one
 * message.
 */
export function readdress(
  message: TransportMessage,
  change: { readonly handler?: string; readonly attempt: number; readonly deliverAt?: number },
): TransportMessage {
  const headers: Record<string, string> = { ...message.headers, [Header.attempt]: String(change.attempt) };
  if (change.handler === undefined) delete headers[Header.targetHandler];
  else headers[Header.targetHandler] = change.handler;
  if (change.deliverAt === undefined) delete headers[Header.deliverAt];
  else headers[Header.deliverAt] = new Date(change.deliverAt).toISOString();
  const copy: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: message.id,
    headers,
    body: message.body,
  };
  if (message.key !== undefined) copy.key = message.key;
  if (change.deliverAt !== undefined) copy.deliverAt = change.deliverAt;
  return copy;
}

/** The dead-letter reason for anything thrown. */
export function reasonOf(error: unknown): DeadLetterReason {
  const cause = error instanceof SwitchyardError && error.code === ErrorCode.HandlerFailed ? error.cause : undefined;
  const code = error instanceof SwitchyardError ? error.code : ErrorCode.HandlerFailed;
  const source = cause ?? error;
  const stack = source instanceof Error ? source.stack : undefined;
  return stack === undefined ? { code, message: describeError(error) } : { code, message: describeError(error), stack };
}

/**
 * Store a dead letter and tell observers. Rejects (with the store's code, SY_SEND_FAILED for a
 * foreign error, and a message saying the message stays on the broker) when the store could not
 * keep it: the caller must not ack then, but nack with a delay.
 */
export async function deadLetter(
  store: DeadLetterStore,
  observers: Observers,
  clock: Clock,
  input: {
    readonly service: string;
    readonly channel: string;
    readonly message: TransportMessage;
    readonly envelope?: Envelope;
    readonly handler?: string;
    readonly error: unknown;
    readonly attempts: number;
  },
): Promise<DeadLetterRecord> {
  const headers = input.message.headers;
  const messageId = input.envelope?.headers.id ?? input.message.id ?? headers[Header.id] ?? 'unknown';
  const reason = reasonOf(input.error);
  const record: DeadLetterRecord = {
    id:
      messageId === 'unknown' ? newId() : deadLetterId(input.service, messageId, input.handler, input.attempts, reason),
    messageId,
    messageName: input.envelope?.headers.name ?? headers[Header.type] ?? 'unknown',
    service: input.service,
    ...(input.handler !== undefined ? { handler: input.handler } : {}),
    channel: input.channel,
    reason,
    attempts: input.attempts,
    firstAttemptAt: input.envelope?.headers.time ?? headers[Header.time] ?? new Date(clock.now()).toISOString(),
    deadLetteredAt: new Date(clock.now()).toISOString(),
    message: input.message,
  };
  try {
    await store.add(record);
  } catch (error) {
    // The caller nacks: the message stays on the broker and comes back; nothing is acked unstored.
    throw new SwitchyardError(
      error instanceof SwitchyardError ? error.code : ErrorCode.SendFailed,
      `dead letter of message '${record.messageId}' (${record.reason.code}) could not be stored durably, so the message stays on the broker and comes back: ${describeError(error)}`,
      { cause: error },
    );
  }
  observers.emit('deadLettered', { record });
  return record;
}

/**
 * The id of the dead letter of one failure: a UUID (version 8, name-based) from the service,
 * message id, handler, attempt and error code, so the same failure seen twice (a redelivery after
 * a crash lost the ack, or a retry after a store write that succeeded but did not answer) gives
 * the same id, and the store's idempotent `add` keeps one record.
 */
export function deadLetterId(
  service: string,
  messageId: string,
  handler: string | undefined,
  attempts: number,
  reason: DeadLetterReason,
): string {
  const hash = createHash('sha256')
    .update([service, messageId, handler ?? '', String(attempts), reason.code].join('\u0000'))
    .digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x80;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
