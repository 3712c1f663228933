import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  ConfigurationError,
  checkRetention,
  type DeadLetterRetention,
  redact,
  WIRE_FORMS,
  type WireForm,
} from '@switchyard/core/transport';
import type { ContentMode } from './wire.js';

/** Queue type of the channel queues this transport declares. */
export type RabbitMqQueueType = 'classic' | 'quorum';

/** Options of {@link RabbitMqTransport}. Every field is optional; defaults suit a local broker. */
export interface RabbitMqTransportOptions {
  /** `amqp://` or `amqps://` URL, credentials and vhost included. Default `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url?: string;
  /** Durable topic exchange that carries events; also the prefix of the helper objects. Default `switchyard`. */
  readonly exchange?: string;
  /** Type of the channel queues declared by `provision`, `consume` and first sends. Default `classic`. */
  readonly queueType?: RabbitMqQueueType;
  /** Deliveries fetched ahead per consumer when `consume` gets no `prefetch` (at least its concurrency). Default 100. */
  readonly prefetch?: number;
  /** Connection name shown by `rabbitmqctl list_connections client_properties` and the management UI. Default `switchyard`. */
  readonly connectionName?: string;
  /** Reconnect backoff: first delay and cap, in ms (exponential, with jitter). Default 100 ms and 5,000 ms. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * How long a send waits for a usable connection (during an outage) before it
   * rejects with `SY_SEND_FAILED`; also bounds declarations. Default 30,000 ms.
   */
  readonly operationTimeoutMs?: number;
  /**
   * Bound on one `send` or `publish` waiting for its publisher confirms. A broker that accepted the
   * connection but does not answer (paused, blocked by an alarm, a stalled network) makes the call
   * reject with `SY_TIMEOUT` after this long; the messages may still be stored when the broker
   * resumes (so a caller that sends again may store them twice; core's inbox drops the repeat).
   * Default: `operationTimeoutMs`.
   */
  readonly sendTimeoutMs?: number;
  /** AMQP heartbeat in seconds, so a silently dead peer is noticed. Default 10. */
  readonly heartbeatSeconds?: number;
  /** TLS settings for `amqps://` (a private CA, client certificates), passed to Node's `tls.connect`. */
  readonly tls?: TlsOptions;
  /**
   * Headers written on every message: `cloudevents` (default: CloudEvents
   * `ce-` headers) or `ecotone` (the same plus Ecotone's distributed-bus
   * headers, so that Ecotone services read what Switchyard sends; use it with
   * `exchange: 'ecotone.distributed'` and the service map channel
   * `distributed_<service>` of each Ecotone service; a channel of that name
   * is also bound by `<service>`, as Ecotone's consumers bind theirs, so
   * Ecotone's commands reach it). A service map entry's `wire` chooses per
   * target service instead. Ecotone messages are read whichever is chosen.
   */
  readonly wire?: WireForm;
  /**
   * CloudEvents content mode of what this transport writes: `binary`
   * (default: every attribute a `ce-*` AMQP header, visible to headers
   * exchanges, policies and the management UI) or `structured` (the whole
   * event as one `application/cloudevents+json` body, as the CloudEvents JSON
   * format defines it: any CloudEvents reader takes it, and the publish costs
   * less CPU because amqplib's header-table encoding is skipped; the
   * attributes are then not in the AMQP header table). Messages written with
   * `wire: 'ecotone'` stay binary. Both modes are read whichever is chosen.
   */
  readonly contentMode?: ContentMode;
  /** Retention of the dead-letter stores this transport offers (default: keep every record). */
  readonly deadLetterRetention?: DeadLetterRetention;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly url: string;
  readonly exchange: string;
  readonly queueType: RabbitMqQueueType;
  readonly prefetch: number;
  readonly connectionName: string;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly operationTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly heartbeatSeconds: number;
  readonly tls?: TlsOptions;
  readonly wire: WireForm;
  readonly contentMode: ContentMode;
  readonly deadLetterRetention?: DeadLetterRetention;
}

/** Apply defaults and check every option; throws a ConfigurationError that says what to change. */
export function resolveOptions(options: RabbitMqTransportOptions = {}): ResolvedOptions {
  const url = options.url ?? 'amqp://guest:guest@127.0.0.1:5672';
  checkUrl(url);
  const exchange = options.exchange ?? 'switchyard';
  if (exchange.length === 0 || exchange.startsWith('amq.') || Buffer.byteLength(exchange) > 200) {
    throw new ConfigurationError(
      `RabbitMQ exchange '${exchange}' is invalid: use a non-empty name of at most 200 bytes that does not start with 'amq.'`,
    );
  }
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new ConfigurationError(`RabbitMQ queueType must be 'classic' or 'quorum', got '${String(queueType)}'`);
  }
  const wire = options.wire ?? 'cloudevents';
  if (!WIRE_FORMS.includes(wire)) {
    throw new ConfigurationError(`RabbitMQ wire must be 'cloudevents' or 'ecotone', got '${String(wire)}'`);
  }
  const contentMode = options.contentMode ?? 'binary';
  if (contentMode !== 'binary' && contentMode !== 'structured') {
    throw new ConfigurationError(`RabbitMQ contentMode must be 'binary' or 'structured', got '${String(contentMode)}'`);
  }
  const resolved: ResolvedOptions = {
    url,
    wire,
    contentMode,
    exchange,
    queueType,
    prefetch: positiveInteger('prefetch', options.prefetch ?? 100, 65_535),
    connectionName: options.connectionName ?? 'switchyard',
    initialDelayMs: positiveInteger('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 100),
    maxDelayMs: positiveInteger('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 5_000),
    operationTimeoutMs: positiveInteger('operationTimeoutMs', options.operationTimeoutMs ?? 30_000),
    sendTimeoutMs: positiveInteger('sendTimeoutMs', options.sendTimeoutMs ?? options.operationTimeoutMs ?? 30_000),
    heartbeatSeconds: nonNegativeInteger('heartbeatSeconds', options.heartbeatSeconds ?? 10),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.deadLetterRetention === undefined ? {} : { deadLetterRetention: options.deadLetterRetention }),
  };
  checkRetention('RabbitMQ option deadLetterRetention', options.deadLetterRetention);
  if (resolved.maxDelayMs < resolved.initialDelayMs) {
    throw new ConfigurationError('RabbitMQ reconnect.maxDelayMs must not be smaller than reconnect.initialDelayMs');
  }
  return resolved;
}

/** Throws a ConfigurationError unless `url` is an `amqp:` or `amqps:` URL. */
export function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`RabbitMQ url '${redact(url)}' is not a URL`, { cause: error });
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new ConfigurationError(`RabbitMQ url must start with amqp:// or amqps://, got '${parsed.protocol}//'`);
  }
}

/** Throws a ConfigurationError unless `name` is usable as a channel (queue) name. */
export function checkChannelName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 200 || name.startsWith('amq.')) {
    throw new ConfigurationError(
      `RabbitMQ channel name '${String(name)}' is invalid: use a non-empty name of at most 200 bytes that does not start with 'amq.'`,
    );
  }
}

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigurationError(`RabbitMQ option ${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigurationError(`RabbitMQ option ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
