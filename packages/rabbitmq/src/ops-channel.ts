import { createHash } from 'node:crypto';
import { describeError, ErrorCode, SwitchyardError, TransportError } from '@switchyard/core/transport';
import type { Channel, ConfirmChannel } from 'amqplib';
import type { ConnectionManager } from './connection-manager.js';

/** AMQP reply codes this package reacts to. */
export const ReplyCode = {
  notFound: 404,
  resourceLocked: 405,
  preconditionFailed: 406,
} as const;

/** The AMQP reply code of a channel or connection error, if any. */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Runs `work` on a short-lived confirm channel of the current connection
 * (waiting at most `timeoutMs` for one, or only for the next connect attempt
 * with `failFast`), then closes it. A declaration error
 * closes only that channel, never the publisher's or a consumer's. Errors
 * come back as TransportError (SwitchyardErrors pass through), with the AMQP
 * reply code still readable through {@link replyCode} on `cause`.
 */
export async function withChannel<T>(
  connection: ConnectionManager,
  timeoutMs: number,
  what: string,
  work: (channel: ConfirmChannel) => Promise<T>,
  failFast = false,
): Promise<T> {
  const live = await connection.get(timeoutMs, failFast);
  let channel: ConfirmChannel;
  try {
    channel = await live.model.createConfirmChannel();
  } catch (error) {
    throw new TransportError(
      ErrorCode.TransportUnavailable,
      `RabbitMQ: could not open a channel to ${what}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  let open = true;
  channel.on('error', () => undefined);
  channel.on('close', () => {
    open = false;
  });
  try {
    return await work(channel);
  } catch (error) {
    if (error instanceof SwitchyardError) throw error;
    throw new TransportError(ErrorCode.TransportUnavailable, `RabbitMQ: could not ${what}: ${describeError(error)}`, {
      cause: error,
    });
  } finally {
    if (open) await channel.close().catch(() => undefined);
  }
}

/**
 * Name of a helper object (`<exchange>.<kind>.<channel>`) that fits AMQP's
 * 255-byte limit: longer names end in a hash of the channel name instead.
 */
export function helperName(exchange: string, kind: string, channel: string): string {
  const name = `${exchange}.${kind}.${channel}`;
  if (Buffer.byteLength(name) <= 255) return name;
  return `${exchange}.${kind}.sha1-${createHash('sha1').update(channel).digest('hex')}`;
}

/** `error` as the rejection of a send: SY_SEND_FAILED unless it already says failed, timed out or closed. */
export function sendError(error: unknown): TransportError {
  const code = error instanceof TransportError ? error.code : undefined;
  if (
    error instanceof TransportError &&
    (code === ErrorCode.SendFailed || code === ErrorCode.Closed || code === ErrorCode.Timeout)
  ) {
    return error;
  }
  return wrap(ErrorCode.SendFailed, 'send failed; the messages may not have been stored', error);
}

/** A TransportError with `code` that names what failed and why. */
export function wrap(code: ErrorCode, what: string, error: unknown): TransportError {
  return new TransportError(code, `RabbitMQ: ${what}: ${describeError(error)}`, { cause: error });
}

/** Resolves when `queue` exists; rejects with a TransportError (`SY_CONFIGURATION`) when it does not. Declares nothing. */
export async function checkQueue(connection: ConnectionManager, queue: string, timeoutMs: number): Promise<void> {
  await withChannel(connection, timeoutMs, `check queue '${queue}'`, async (channel) => {
    try {
      await channel.checkQueue(queue);
    } catch (error) {
      if (replyCode(error) !== ReplyCode.notFound) throw error;
      throw new TransportError(ErrorCode.Configuration, `RabbitMQ queue '${queue}' does not exist`, { cause: error });
    }
  });
}

/** Resolves when `exchange` exists; rejects with a TransportError (`SY_CONFIGURATION`) when it does not. Declares nothing. */
export async function checkExchange(connection: ConnectionManager, exchange: string, timeoutMs: number): Promise<void> {
  await withChannel(connection, timeoutMs, `check exchange '${exchange}'`, async (channel) => {
    try {
      await channel.checkExchange(exchange);
    } catch (error) {
      if (replyCode(error) !== ReplyCode.notFound) throw error;
      throw new TransportError(ErrorCode.Configuration, `RabbitMQ exchange '${exchange}' does not exist`, {
        cause: error,
      });
    }
  });
}

/**
 * Resolves once `channel` has room again after a publish returned false (its
 * `drain`), or once it closed (nothing is left to wait for then). Never rejects.
 */
export function drained(channel: Channel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      channel.off('drain', done);
      channel.off('close', done);
      resolve();
    };
    channel.once('drain', done);
    channel.once('close', done);
  });
}
