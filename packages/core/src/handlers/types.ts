import type { RequestOptions } from '../bus/request.js';
import type { Contract, InputOf, QueryContract, ResultOf } from '../contracts/contract.js';
import type { MessageClass } from '../contracts/message-class.js';
import type { MessageHeaders } from '../message/envelope.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { RetryPolicyOptions } from '../resilience/retry-policy.js';
import type { FinalFailureStrategy } from '../runtime/stages/final-failure.js';
import type { Logger } from '../util/logger.js';

/** Options of one send: everything but the payload. */
export interface SendOptions {
  /** User metadata, carried as CloudEvents extensions (keys: lowercase letters and digits, ≤ 20). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Defaults to the handled message's correlation id, or the new message's id. */
  readonly correlationId?: string;
  /** Defaults to the handled message's id inside a handler. */
  readonly causationId?: string;
  /** Deliver no sooner than this many ms from now. */
  readonly delayMs?: number;
  /** Same-key messages keep their order where the transport supports it. */
  readonly orderingKey?: string;
  /** W3C trace context; inside a handler the handled message's is propagated. */
  readonly traceparent?: string;
  /** Reply address (a reply channel's address) for request/reply; set by `request`, not by hand. */
  readonly replyTo?: string;
}

/** A contract, a decorated message class, or (for handlers) an event routing pattern. */
export type MessageRef = Contract | MessageClass;

/**
 * The distributed bus: sends to other services through the service map.
 * Every method resolves only when the broker has durably accepted the message
 * and rejects with a SwitchyardError (`SY_VALIDATION`, `SY_NO_ROUTE`,
 * `SY_SEND_FAILED`, `SY_CLOSED`) otherwise; nothing is dropped silently.
 */
export interface DistributedBus {
  /** Send a command to the service named `targetService`. */
  sendCommand<C extends Contract<'command'>>(
    targetService: string,
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<void>;
  /** Send a command instance of a decorated class. */
  sendCommand(targetService: string, command: object, options?: SendOptions): Promise<void>;
  /** Publish an event to every service subscribed to its name or a matching pattern. */
  publishEvent<C extends Contract<'event'>>(contract: C, payload: InputOf<C>, options?: SendOptions): Promise<void>;
  /** Publish an event instance of a decorated class. */
  publishEvent(event: object, options?: SendOptions): Promise<void>;
  /**
   * Validate and encode a command without sending it: the result goes into an
   * outbox (e.g. `SqliteOutboxStore.add`) inside the application's own
   * transaction, and the service's outbox relay forwards it. Rejects with
   * SY_VALIDATION like `sendCommand`.
   */
  prepareCommand<C extends Contract<'command'>>(
    targetService: string,
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<OutboundMessage>;
  prepareCommand(targetService: string, command: object, options?: SendOptions): Promise<OutboundMessage>;
  /** Validate and encode an event without publishing it, for an outbox; see `prepareCommand`. */
  prepareEvent<C extends Contract<'event'>>(
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<OutboundMessage>;
  prepareEvent(event: object, options?: SendOptions): Promise<OutboundMessage>;
  /**
   * Ask `targetService` a query and await its answer: the query goes durably to
   * the target's channel; its one distributed handler's return value comes back
   * through this instance's reply channel, validated by the contract's `result`
   * schema when it has one. Rejects with `SY_REMOTE` (a `RemoteError`: the
   * handler failed or the payload was invalid there), `SY_TIMEOUT` (no reply
   * within `timeoutMs`, default 30 s), the signal's reason on abort,
   * `SY_VALIDATION`, `SY_CONFIGURATION` (the target's transport has no reply
   * channels), `SY_CLOSED` (the service stopped), or the send's error. Inside a
   * handler, the query carries the handled message's correlation id, its id as
   * causation id, and its trace context. Not retried: the caller decides.
   */
  request<C extends QueryContract>(
    targetService: string,
    contract: C,
    payload: InputOf<C>,
    options?: RequestOptions,
  ): Promise<ResultOf<C>>;
  /** Ask a query instance of a class decorated with `@Query`. */
  request(targetService: string, query: object, options?: RequestOptions): Promise<unknown>;
  /** Send a plain payload to `endpoint` of `targetService` (handled by its `handleEndpoint(endpoint, …)`). */
  sendMessage(
    targetService: string,
    endpoint: string,
    payload: unknown,
    options?: SendOptions & { name?: string },
  ): Promise<void>;
}

/** What a handler gets besides its payload. */
export interface HandlerContext extends DistributedBus {
  /** Headers of the message being handled. */
  readonly headers: MessageHeaders;
  /** This service's name. */
  readonly service: string;
  /** Id of the running handler. */
  readonly handler: string;
  /** Aborted when the service stops; long handlers should honour it. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * The inbox store's open transaction, for handlers registered with
   * `transactionalInbox: true` (undefined otherwise): make the handler's writes
   * through it, so they commit together with the inbox record.
   */
  readonly transaction: unknown;
}

/** A handler function. Its return value is the result of a query. */
export type Handler<P = unknown, R = unknown> = (payload: P, context: HandlerContext) => R | Promise<R>;

/** Options of one handler registration. */
export interface HandlerOptions {
  /** Also receive the message from the broker, sent by other services (default false: local buses only). */
  readonly distributed?: boolean;
  /**
   * Stable handler id, used to address retries and replays to this handler only.
   * Default: the message name (commands, queries) or `<function name>@<pattern>` (events).
   */
  readonly name?: string;
  readonly retry?: RetryPolicyOptions;
  /** What happens after the last retry (default: the service's `finalFailure`, itself `deadLetter` by default). */
  readonly finalFailure?: FinalFailureStrategy;
  /** Run asynchronously: the local bus enqueues the message on this service's own channel, to this endpoint. */
  readonly asynchronous?: string;
  /**
   * How a string pattern is read: `amqp` (default: `*` one segment, `#` zero
   * or more) or `ecotone` (Ecotone's rule for subscriptions that come from an
   * Ecotone service map: `*` matches any run of characters, dots included,
   * and the whole key matches case-insensitively). An `ecotone` pattern is
   * subscribed on the broker as its AMQP superset (each segment holding a
   * `*` becomes `#`); core applies the exact rule to every event.
   */
  readonly patternSyntax?: 'amqp' | 'ecotone';
  /**
   * Transactional inbox (default false): for deliveries from the broker, run
   * the handler inside one transaction of the service's inbox store, together
   * with the record that it processed the message (see
   * `InboxStore.processInTransaction`). The handler must make its writes
   * through `context.transaction` (for `SqliteInboxStore`, the better-sqlite3
   * Database). A crash between the side effect and the record then cannot
   * repeat the side effect. `start()` throws a ConfigurationError when the
   * inbox store cannot do it. Local (in-process) calls run without it.
   */
  readonly transactionalInbox?: boolean;
}
