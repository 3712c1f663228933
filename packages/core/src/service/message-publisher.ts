import { ConfigurationError, ErrorCode, TransportError } from '../errors.js';
import type { EndpointMessage, Transport } from '../transport/types.js';
import { newId } from '../util/ids.js';

/** One raw message for a destination Switchyard does not own. */
export interface RawMessage {
  /** Bytes are sent as they are; anything else as JSON (UTF-8). */
  readonly payload: unknown;
  /** Headers exactly as the receiving system expects them (no CloudEvents mapping). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Routing key, for brokers that route by one (RabbitMQ exchanges). */
  readonly routingKey?: string;
  /** Partition / ordering key (Kafka record key, SQS FIFO group). */
  readonly key?: string;
  /** Content type; default `application/json` for non-byte payloads. Written as the `content-type` header. */
  readonly contentType?: string;
  /** Message id where the broker carries one; default a new UUIDv7. */
  readonly id?: string;
  /**
   * RabbitMQ: reject the publish with `SY_SEND_FAILED` when no queue is bound
   * for the routing key, instead of the exchange dropping it (AMQP
   * `mandatory`). Ignored where the endpoint is the destination itself.
   */
  readonly mandatory?: boolean;
}

const encoder = new TextEncoder();

/**
 * Publishes raw messages to destinations that Switchyard does not own (an
 * external exchange, another team's topic, queue or stream), through any
 * transport that implements `sendEndpoint`: RabbitMQ (endpoint = exchange,
 * `''` for the default exchange, with each message's routing key), Kafka
 * (topic), SQS (queue name or URL), Redis Streams (stream key). `publish`
 * resolves once the broker confirmed every message (publisher confirms,
 * acks=all, …) and rejects with a `TransportError` otherwise; at-least-once,
 * never silently dropped. The publisher owns nothing: closing the transport is the caller's.
 */
export class MessagePublisher {
  readonly #transport: Transport;

  /** Throws a ConfigurationError when `transport` cannot publish to foreign endpoints. */
  constructor(transport: Transport) {
    if (typeof transport?.sendEndpoint !== 'function') {
      throw new ConfigurationError(
        `transport '${transport?.name}' cannot publish to foreign endpoints (it has no sendEndpoint)`,
      );
    }
    this.#transport = transport;
  }

  /** Publish `messages` to `endpoint`, in order; resolves once the broker confirmed all of them. */
  async publish(endpoint: string, messages: RawMessage | readonly RawMessage[]): Promise<void> {
    if (typeof endpoint !== 'string') {
      throw new TransportError(ErrorCode.Configuration, 'a message publisher needs the endpoint to publish to');
    }
    const list: readonly RawMessage[] = Array.isArray(messages) ? messages : [messages as RawMessage];
    if (list.length === 0) return;
    await (this.#transport.sendEndpoint as NonNullable<Transport['sendEndpoint']>).call(
      this.#transport,
      endpoint,
      list.map(toEndpointMessage),
    );
  }
}

function toEndpointMessage(message: RawMessage): EndpointMessage {
  const bytes = message.payload instanceof Uint8Array;
  const body = bytes ? (message.payload as Uint8Array) : encoder.encode(JSON.stringify(message.payload ?? null));
  const headers: Record<string, string> = { ...message.headers };
  const contentType = message.contentType ?? (bytes ? undefined : 'application/json');
  if (contentType !== undefined) headers['content-type'] = contentType;
  const out: { -readonly [K in keyof EndpointMessage]: EndpointMessage[K] } = {
    id: message.id ?? newId(),
    headers,
    body,
  };
  if (message.key !== undefined) out.key = message.key;
  if (message.routingKey !== undefined) out.routingKey = message.routingKey;
  if (message.mandatory !== undefined) out.mandatory = message.mandatory;
  return out;
}
