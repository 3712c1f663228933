/**
 * The transport SPI: the whole contract between core and a broker adapter.
 *
 * A transport only moves messages (headers + bytes) and implements ack, nack,
 * delay and topology. Retries, dead letters, dedup, routing by handler and
 * validation live in core and must not be re-implemented here.
 *
 * Thread safety: every method may be called concurrently from several async
 * tasks of the same process. Several processes may use the same broker at
 * once; each transport documents what it guarantees across processes through
 * its {@link TransportCapabilities}.
 */

import type { WireForm } from '../message/ecotone.js';
import type { DeadLetterStore } from '../resilience/stores.js';

/** A message as it crosses the transport line. Immutable once built. */
export interface TransportMessage {
  /** Unique id of the message (the CloudEvents `id`). A transport may use it for broker-side dedup. */
  readonly id: string;
  /**
   * CloudEvents binary-mode headers: `ce-*` attributes and `content-type`, all
   * strings. A transport carries them unchanged; a broker without enough header
   * room uses the structured mode from core's codec instead.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The encoded payload. */
  readonly body: Uint8Array;
  /**
   * Ordering key. Where `capabilities.orderingPerKey` is true, messages with the
   * same key sent to the same channel are delivered in the order they were sent.
   */
  readonly key?: string;
  /**
   * Epoch milliseconds before which the message must not be handled. Transports
   * with native delay hold it on the broker; the others deliver it early and
   * core holds it until due (see `capabilities.delayedDelivery`). Core also
   * writes it into the `ce-deliverat` header, so it survives any transport.
   */
  readonly deliverAt?: number;
  /**
   * Which headers to write for this message, set by core from the service
   * map entry of its target (`ServiceRoute.wire`); absent: the transport's
   * own option. Only set where `capabilities.wireForms` lists it. A
   * transport never sets it on a delivery.
   */
  readonly wire?: WireForm;
}

/** A raw message for {@link Transport.sendEndpoint}: headers as the receiving system expects them. */
export interface EndpointMessage extends TransportMessage {
  /** Routing key (AMQP exchanges); ignored by brokers that route by destination only. */
  readonly routingKey?: string;
  /**
   * Reject the send (`SY_SEND_FAILED`) when the broker routed the message to
   * no queue (AMQP `mandatory`: RabbitMQ returns it). Default false: an
   * exchange with no matching binding drops it, as AMQP does. Ignored by
   * brokers that store into the named destination itself (Kafka, SQS, Redis).
   */
  readonly mandatory?: boolean;
}

/** An event to fan out: delivered to every channel subscribed to a pattern that matches `routingKey`. */
export interface RoutedMessage extends TransportMessage {
  /** Dot-separated routing key, the message name (e.g. `order.placed`). */
  readonly routingKey: string;
}

/** One channel (a service's own channel) and the event patterns it subscribes to. */
export interface ChannelTopology {
  /** Channel name, as chosen by the service map (by default the service name). */
  readonly name: string;
  /**
   * Routing patterns (`*` one segment, `#` zero or more) whose events this
   * channel receives. After `provision`, the channel's subscriptions are exactly
   * these: patterns that are no longer listed are removed.
   */
  readonly subscriptions: readonly string[];
}

/** The logical topology a service needs on one transport. */
export interface Topology {
  readonly channels: readonly ChannelTopology[];
}

/** Options for {@link Delivery.nack}. */
export interface NackOptions {
  /** Redeliver no sooner than this many ms from now (best effort where delay is emulated). */
  readonly delayMs?: number;
}

/**
 * One delivery of one message to a consumer. Exactly one of `ack` or `nack`
 * takes effect: both are idempotent and mutually exclusive (a second call of
 * either is a no-op). A delivery neither acked nor nacked when its consumer
 * closes is left for redelivery, never lost.
 */
export interface Delivery {
  readonly message: TransportMessage;
  /** The channel the message was consumed from. */
  readonly channel: string;
  /** How many times the broker has delivered this message, 1 for the first; 1 where the broker cannot tell. */
  readonly deliveryCount: number;
  /** Remove the message from the channel for good. Rejects only if the broker could not be told; the message then comes back. */
  ack(): Promise<void>;
  /** Return the message to the channel for redelivery. */
  nack(options?: NackOptions): Promise<void>;
}

/**
 * Called once per delivery. Core's handler always settles the delivery itself
 * (ack or nack) before resolving; if it rejects anyway, the transport nacks.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** Options for {@link Transport.consume}. */
export interface ConsumeOptions {
  /** Deliveries handled at the same time by this consumer (default 1). */
  readonly concurrency?: number;
  /** Deliveries fetched ahead of handling (default: transport's own, at least `concurrency`). */
  readonly prefetch?: number;
}

/** A running consumer. */
export interface Subscription {
  /**
   * Stop fetching, wait for in-flight handlers (at most `drainTimeoutMs`,
   * default 30 s), then release the broker resources. Unsettled deliveries go
   * back to the broker. Idempotent.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * What a broker reports about one channel right now, for metrics and the dashboard.
 * A field is absent where the broker cannot tell it cheaply; never guessed.
 */
export interface ChannelStats {
  readonly channel: string;
  /** Messages waiting to be delivered (ready, not yet handed to a consumer). */
  readonly depth?: number;
  /** Messages handed to a consumer and not yet acked. */
  readonly inFlight?: number;
  /** Consumers attached to the channel, across all processes. */
  readonly consumers?: number;
  /** Log brokers (Kafka): records behind the consumer group's committed offsets, summed over partitions. */
  readonly lag?: number;
}

/** A per-instance channel that receives the replies to this instance's requests. */
export interface ReplyChannel {
  /** Where repliers send: written into a request's `replyTo` and given back to {@link ReplyChannels.send}. Opaque to core. */
  readonly address: string;
  /** Stop consuming and delete the channel with whatever it still holds. Idempotent. */
  close(): Promise<void>;
}

/**
 * Request/reply support: a cheap, short-lived channel per service instance
 * (e.g. an exclusive auto-delete queue, a stream per instance with trimming,
 * a queue created on start and removed on stop). Replies are not retried or
 * dead-lettered by core: a reply that cannot be delivered is dropped.
 */
export interface ReplyChannels {
  /**
   * Create (or re-attach) the reply channel of instance `owner` (unique per process
   * start) and consume it with `handler`. The broker removes the channel and its
   * contents once nobody consumed it for `expireAfterMs` (the cleanup after a crash).
   */
  open(owner: string, handler: DeliveryHandler, options: { readonly expireAfterMs: number }): Promise<ReplyChannel>;
  /**
   * Deliver one reply to `address`. Need not be persistent: a reply whose
   * requester is gone may be dropped. Rejects with a `TransportError` when the
   * broker refused it; resolves when the address no longer exists.
   */
  send(address: string, message: TransportMessage): Promise<void>;
}

/** What a transport can do; core and the conformance suite adapt to it. */
export interface TransportCapabilities {
  /**
   * `native`: the broker holds a message until `deliverAt`.
   * `emulated`: the transport may deliver early and core holds the delivery
   * unsettled until due, so a crash while waiting only redelivers it.
   */
  readonly delayedDelivery: 'native' | 'emulated';
  /** Messages with the same key on one channel are delivered in send order. */
  readonly orderingPerKey: boolean;
  /** Largest message (headers + body, in bytes) the broker accepts. */
  readonly maxMessageBytes: number;
  /** The broker keeps a log that can be re-read from an earlier position. */
  readonly replay: boolean;
  /** The broker has its own dead-letter facility (core's dead letter is used regardless). */
  readonly nativeDeadLetter: boolean;
  /** `server`: the broker filters events by pattern; `client`: core's matcher does, after delivery. */
  readonly patternFiltering: 'server' | 'client';
  /** Messages survive the process (false only for the in-memory transport). */
  readonly durable: boolean;
  /** Consumers resume by themselves after the connection to the broker drops. */
  readonly reconnect: boolean;
  /** Which {@link ChannelStats} fields `Transport.channelStats` fills; absent when it has none. */
  readonly channelStats?: readonly ('depth' | 'inFlight' | 'consumers' | 'lag')[];
  /**
   * Wire forms it can write per message ({@link TransportMessage.wire}), besides
   * `cloudevents`; absent: none. A service map entry asking for another
   * form on this transport is refused with a ConfigurationError.
   */
  readonly wireForms?: readonly WireForm[];
}

/**
 * A transport's connection to its broker, as reported through
 * {@link Transport.watchConnection}. Core logs each change of `status` once and
 * shows the latest in `service.health()`.
 */
export interface ConnectionState {
  /**
   * `connected`: a connection is up (first connect or reconnect).
   * `disconnected`: the connection was lost or a connect attempt failed.
   * `retrying`: a reconnect attempt is scheduled after `delayMs`.
   */
  readonly status: 'connected' | 'disconnected' | 'retrying';
  /** The broker address with any password removed, e.g. `amqp://guest:***@127.0.0.1:5672`. */
  readonly endpoint: string;
  /** What took the connection down or made the last attempt fail (`disconnected`, `retrying`). */
  readonly error?: unknown;
  /** Reconnect attempts since the connection was last up (`retrying`). */
  readonly attempt?: number;
  /** Backoff before the next attempt, in ms (`retrying`). */
  readonly delayMs?: number;
}

/**
 * A broker adapter. Construction does no I/O; the first operation connects.
 *
 * Reliability rules every implementation keeps:
 * - `send` and `publish` resolve only after the broker durably accepted every
 *   message; if any message may not have been stored they reject with a
 *   `TransportError` (code `SY_SEND_FAILED`), never drop silently.
 * - Sending to a channel that was never provisioned either creates it durably
 *   or rejects; it never discards the message.
 * - A delivery is removed only by `ack`.
 */
export interface Transport {
  /** Short name for logs and the topology view, e.g. `rabbitmq`. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** Idempotently declare what `topology` needs on the broker; see {@link ChannelTopology}. */
  provision(topology: Topology): Promise<void>;
  /** Durably append `messages` to `channel`, in order. Batches as it sees fit. */
  send(channel: string, messages: readonly TransportMessage[]): Promise<void>;
  /** Durably fan `messages` out to every channel whose subscriptions match their routing key. */
  publish(messages: readonly RoutedMessage[]): Promise<void>;
  /** Start consuming `channel`; resolves once the consumer is attached. */
  consume(channel: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Subscription>;
  /**
   * Consume a destination that Switchyard does not own (another system's
   * queue, topic or stream), named as the broker names it, for a message
   * consumer (`Service.consumeEndpoint`). Optional. The destination is never
   * declared or changed, except what consuming needs (a consumer group).
   * Deliveries carry the broker's headers as text, CloudEvents attributes in
   * core's `ce-` form, and a message id that is stable across redeliveries
   * where the broker gives one (message id, offset, entry id). Rejects with a
   * `TransportError` (`SY_CONFIGURATION`) when the destination does not exist.
   * `group` names the consumer (group) where the broker has them.
   */
  consumeEndpoint?(
    endpoint: string,
    handler: DeliveryHandler,
    options?: ConsumeOptions & { readonly group?: string },
  ): Promise<Subscription>;
  /**
   * Durably write `messages` to a destination that Switchyard does not own
   * (an exchange, topic, queue or stream, named as the broker names it), for
   * a message publisher. Optional. Headers are written as given (no
   * CloudEvents mapping), with each message's `routingKey` where the broker
   * routes by one. Resolves only after the broker confirmed every message;
   * rejects with a `TransportError` (`SY_SEND_FAILED`, or `SY_CONFIGURATION`
   * when the destination does not exist and the broker can tell).
   */
  sendEndpoint?(endpoint: string, messages: readonly EndpointMessage[]): Promise<void>;
  /**
   * Optional: what the broker reports now about each of `channels` (a service's
   * own channels, by the names the service map gave them), in the same order.
   * Cheap enough to call every few seconds; read-only; rejects with a
   * `TransportError` when the broker cannot be asked.
   */
  channelStats?(channels: readonly string[]): Promise<ChannelStats[]>;
  /** Optional: per-instance reply channels for request/reply (see {@link ReplyChannels}). */
  readonly replies?: ReplyChannels;
  /** Check that the broker answers; rejects with a `TransportError` saying what is wrong. */
  ping(): Promise<void>;
  /**
   * The durable dead-letter store of `service` on this transport's broker (e.g. a
   * `<service>.dead-letters` queue, stream, topic or table). Optional: a service whose transport
   * lacks it needs an explicit `deadLetters` store. Construction does no I/O; the store connects on
   * first use and shares the transport's connection where it can. Closing the store never closes
   * the transport. Calling it twice for one service may return the same store or a new one over
   * the same records.
   */
  deadLetterStore?(service: string): DeadLetterStore;
  /**
   * Optional: call `listener` on every change of the connection's state (see
   * {@link ConnectionState}), from now until the returned function is called or
   * the transport closes. A transport that reconnects by itself should offer it,
   * so a service can log outages and report them through `health()`. Listeners
   * must not throw; the transport ignores what they return.
   */
  watchConnection?(listener: (state: ConnectionState) => void): () => void;
  /**
   * Close every subscription (as {@link Subscription.close}) and the connection.
   * Idempotent; later sends reject with code `SY_CLOSED`.
   */
  close(): Promise<void>;
}
