import { randomUUID } from 'node:crypto';
import { ConfigurationError, ErrorCode, TransportError } from '@switchyard/core/transport';
import { ConfirmPublisher, type Outgoing } from './confirm-publisher.js';
import { ConnectionManager } from './connection-manager.js';
import { ReplyCode, replyCode, withChannel } from './ops-channel.js';
import { type RabbitMqTransportOptions, resolveOptions } from './options.js';

/** Connection options shared with the transport, plus the foreign exchange to publish to. */
export interface RabbitMqMessagePublisherOptions
  extends Pick<
    RabbitMqTransportOptions,
    'url' | 'connectionName' | 'reconnect' | 'operationTimeoutMs' | 'heartbeatSeconds' | 'tls'
  > {
  /** The existing exchange to publish to (`''` for the default exchange). It is checked, never declared. */
  readonly exchange: string;
  /** Reject a publish that no queue took (basic.return) instead of letting the broker drop it. Default false. */
  readonly mandatory?: boolean;
}

/** One raw message for a destination Switchyard does not own. */
export interface RawOutgoingMessage {
  readonly routingKey: string;
  /** Bytes are sent as they are; anything else is sent as JSON. */
  readonly payload: unknown;
  /** AMQP headers, as the consumers on the other side expect them. */
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  /** Default `application/json` for non-byte payloads, none for bytes. */
  readonly contentType?: string;
  /** Default: a random UUID. */
  readonly messageId?: string;
  /** Default true (delivery mode 2). */
  readonly persistent?: boolean;
}

/**
 * Publishes raw messages to an exchange Switchyard does not own (another
 * team's exchange, a legacy system's), with publisher confirms: `publish`
 * resolves once the broker confirmed every message, and rejects with
 * `SY_SEND_FAILED` on a nack, on a return when `mandatory`, or when no
 * connection comes back within `operationTimeoutMs`. Messages unconfirmed at
 * a connection loss are published again (at-least-once). The exchange must
 * exist: the first publish checks it and rejects with `SY_CONFIGURATION` if
 * not. Construction does no I/O; `close` is idempotent and later publishes
 * reject with `SY_CLOSED`.
 */
export class RabbitMqMessagePublisher {
  readonly #exchange: string;
  readonly #mandatory: boolean;
  readonly #timeoutMs: number;
  readonly #connection: ConnectionManager;
  readonly #publisher: ConfirmPublisher;
  #checked: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /** Throws a ConfigurationError for invalid options. */
  constructor(options: RabbitMqMessagePublisherOptions) {
    if (typeof options?.exchange !== 'string') {
      throw new ConfigurationError('RabbitMqMessagePublisher needs the name of an existing exchange (`exchange`)');
    }
    const resolved = resolveOptions({ ...options, exchange: 'unused' });
    this.#exchange = options.exchange;
    this.#mandatory = options.mandatory ?? false;
    this.#timeoutMs = resolved.operationTimeoutMs;
    this.#connection = new ConnectionManager(resolved);
    this.#publisher = new ConfirmPublisher(this.#connection, resolved.operationTimeoutMs);
  }

  /** Publish `messages` in order and resolve after the broker confirmed them all. */
  async publish(messages: RawOutgoingMessage | readonly RawOutgoingMessage[]): Promise<void> {
    if (this.#closing) throw new TransportError(ErrorCode.Closed, 'the RabbitMQ message publisher is closed');
    const list: readonly RawOutgoingMessage[] = Array.isArray(messages) ? messages : [messages as RawOutgoingMessage];
    if (list.length === 0) return;
    await this.#checkExchange();
    const returned = await this.#publisher.publish(list.map((message) => this.#outgoing(message)));
    if (returned.length > 0) {
      throw new TransportError(
        ErrorCode.SendFailed,
        `RabbitMQ returned ${returned.length} message(s): no queue is bound to exchange '${this.#exchange}' for ${[
          ...new Set(returned.map((item) => item.routingKey)),
        ].join(', ')}`,
      );
    }
  }

  /** Close the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#publisher.close().then(() => this.#connection.close());
    return this.#closing;
  }

  #outgoing(message: RawOutgoingMessage): Outgoing {
    const bytes = message.payload instanceof Uint8Array;
    const body = bytes
      ? Buffer.from(
          (message.payload as Uint8Array).buffer,
          (message.payload as Uint8Array).byteOffset,
          (message.payload as Uint8Array).byteLength,
        )
      : Buffer.from(JSON.stringify(message.payload ?? null));
    const contentType = message.contentType ?? (bytes ? undefined : 'application/json');
    return {
      exchange: this.#exchange,
      routingKey: message.routingKey,
      body,
      options: {
        persistent: message.persistent ?? true,
        mandatory: this.#mandatory,
        messageId: message.messageId ?? randomUUID(),
        contentType,
        timestamp: Math.floor(Date.now() / 1000),
        headers: message.headers ?? {},
      },
    };
  }

  #checkExchange(): Promise<void> {
    if (this.#exchange === '') return Promise.resolve();
    this.#checked ??= checkExchange(this.#connection, this.#exchange, this.#timeoutMs).catch((error: unknown) => {
      this.#checked = undefined;
      throw error;
    });
    return this.#checked;
  }
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
