import { type EndpointMessage, ErrorCode, TransportError } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { checkSize, Keys } from './codec.js';
import type { CommandConnection } from './command-connection.js';
import { isBusyGroup, wrapError } from './errors.js';

/*
 * Streams that Switchyard does not own, named by their key (the transport's
 * `sendEndpoint`/`consumeEndpoint`): entries are plain fields, not the packed
 * layout of the transport's own channels, and the key is taken as given,
 * without the transport's prefix.
 */

/**
 * Append `messages` to the stream at key `endpoint` over the command
 * connection: each header becomes a field, the body the field `data`; all of
 * one call in one MULTI/EXEC. Creates the stream when it is missing (as XADD
 * does); an empty `messages` does nothing. Rejects with `SY_CLOSED` once the
 * connection is closed, `SY_TOO_LARGE` when a message exceeds
 * `maxMessageBytes` (nothing appended), `SY_CONFIGURATION` when the key holds
 * another type, `SY_SEND_FAILED` when the key's type cannot be read (nothing
 * appended) or the transaction fails (its entries may or may not be stored).
 */
export async function appendToEndpoint(
  connection: CommandConnection,
  endpoint: string,
  messages: readonly EndpointMessage[],
  maxMessageBytes: number,
): Promise<void> {
  // Taken inside this async function, so a closed transport rejects rather than throws.
  const conn = connection.get();
  if (messages.length === 0) return;
  for (const message of messages) checkSize(message, maxMessageBytes);
  const type = await typeOf(conn, endpoint, ErrorCode.SendFailed, `send to stream '${endpoint}' failed`);
  if (type !== 'stream' && type !== 'none') {
    throw new TransportError(ErrorCode.Configuration, `redis key '${endpoint}' is a ${type}, not a stream`);
  }
  const multi = conn.multi();
  for (const message of messages) {
    const fields: Array<string | Buffer> = [];
    for (const [name, value] of Object.entries(message.headers)) fields.push(name, value);
    fields.push('data', Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength));
    multi.xadd(endpoint, '*', ...fields);
  }
  try {
    const replies = await multi.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error('the transaction was aborted');
  } catch (error) {
    throw wrapError(error, ErrorCode.SendFailed, `send to stream '${endpoint}' failed`);
  }
}

/**
 * Resolves when `endpoint` is an existing stream; rejects with `SY_CONFIGURATION`
 * saying what the key is instead, or `SY_TRANSPORT_UNAVAILABLE` (the driver's
 * error as `cause`) when its type cannot be read. Read-only.
 */
export async function checkEndpointStream(conn: Redis, endpoint: string): Promise<void> {
  const type = await typeOf(conn, endpoint, ErrorCode.TransportUnavailable, `cannot read the type of '${endpoint}'`);
  if (type !== 'stream') {
    throw new TransportError(
      ErrorCode.Configuration,
      `redis key '${endpoint}' is ${type === 'none' ? 'missing' : `a ${type}`}, not a stream`,
    );
  }
}

/**
 * Create the transport's consumer group on `endpoint` when it is missing,
 * from the entries added after that (`$`): what the stream held before is
 * not Switchyard's to deliver. Idempotent; rejects with `SY_TRANSPORT_UNAVAILABLE`
 * (the driver's error as `cause`) when the group cannot be created.
 */
export async function ensureEndpointGroup(conn: Redis, endpoint: string): Promise<void> {
  try {
    await conn.xgroup('CREATE', endpoint, Keys.group, '$');
  } catch (error) {
    if (!isBusyGroup(error)) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `cannot create the consumer group on '${endpoint}'`);
    }
  }
}

/** The Redis type of `key`; a driver error is wrapped with `code` and `what`. */
async function typeOf(conn: Redis, key: string, code: ErrorCode, what: string): Promise<string> {
  try {
    return await conn.type(key);
  } catch (error) {
    throw wrapError(error, code, what);
  }
}
