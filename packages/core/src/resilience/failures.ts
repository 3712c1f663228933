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

/** Store a dead letter and tell observers. Rejects when the store could not keep it: the caller must not ack then. */
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
  const record: DeadLetterRecord = {
    id: newId(),
    messageId: input.envelope?.headers.id ?? input.message.id ?? headers[Header.id] ?? 'unknown',
    messageName: input.envelope?.headers.name ?? headers[Header.type] ?? 'unknown',
    service: input.service,
    ...(input.handler !== undefined ? { handler: input.handler } : {}),
    channel: input.channel,
    reason: reasonOf(input.error),
    attempts: input.attempts,
    firstAttemptAt: input.envelope?.headers.time ?? headers[Header.time] ?? new Date(clock.now()).toISOString(),
    deadLetteredAt: new Date(clock.now()).toISOString(),
    message: input.message,
  };
  await store.add(record);
  observers.emit('deadLettered', { record });
  return record;
}
