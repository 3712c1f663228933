import { Dispatcher } from '../bus/dispatcher.js';
import { LocalBuses } from '../bus/local-bus.js';
import { OutgoingMessages } from '../bus/outgoing.js';
import { DEFAULT_REPLY_CHANNEL_EXPIRY_MS, Requester } from '../bus/request.js';
import { type BusParts, ServiceBus } from '../bus/service-bus.js';
import type { Contract, PayloadOf } from '../contracts/contract.js';
import type { MessageClass } from '../contracts/message-class.js';
import { ConfigurationError, ErrorCode, SwitchyardError } from '../errors.js';
import { Context } from '../handlers/context.js';
import { registerDecorated } from '../handlers/decorators.js';
import { finalFailureOf, type HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { Handler, HandlerOptions, MessageRef } from '../handlers/types.js';
import type { Interceptor } from '../interceptors/types.js';
import type { Envelope } from '../message/envelope.js';
import { InMemoryInboxStore } from '../resilience/memory-stores.js';
import { replayDeadLetter, replayDeadLetters } from '../resilience/replay.js';
import { resolveRetryPolicy } from '../resilience/retry-policy.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore, InboxStore } from '../resilience/stores.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { DEFAULT_TRANSPORT_URL } from '../transport/transport-url.js';
import type { Transport } from '../transport/types.js';
import { systemClock } from '../util/clock.js';
import { defaultLogger, type Logger } from '../util/logger.js';
import { type Listener, Observers, type ServiceEvents } from '../util/observers.js';
import { defaultDeadLetterStore, type TransportDeadLetterStore } from './default-dead-letters.js';
import type { ServiceHealth } from './health.js';
import { ProcessHold } from './lifecycle.js';
import { type MessageConsumerOptions, MessageConsumers } from './message-consumer.js';
import type { ServiceOptions } from './options.js';
import { DEFAULT_TRANSPORT, ServiceMap } from './service-map.js';
import { DEFAULT_MAX_MESSAGE_BYTES, ServiceRuntime } from './service-runtime.js';
import { checkTransactionalInbox, validateServiceOptions } from './validate-options.js';

/**
 * One service: its handlers, its buses and its runtime. Build it with
 * {@link createService}, register handlers, then `start()`.
 */
export class Service {
  readonly name: string;
  /** Sends to other services through the service map. */
  readonly distributedBus: ServiceBus;
  /** In-process command, event and query buses. */
  readonly localBus: LocalBuses;
  readonly deadLetters: DeadLetterStore;
  readonly serviceMap: ServiceMap;
  readonly #options: ServiceOptions;
  readonly #registry: HandlerRegistry;
  readonly #consumers: MessageConsumers;
  readonly #observers = new Observers();
  readonly #dispatcher: Dispatcher;
  readonly #parts: BusParts;
  readonly #dedup: InboxStore | undefined;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #stopping = new AbortController();
  readonly #interceptors: Interceptor[] = [];
  readonly #runtime: ServiceRuntime;
  #scope: { service: string; signal: AbortSignal; logger: Logger } | undefined;
  readonly #hold = new ProcessHold();
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#logger.info({ service: this.name, signal }, 'stopping on signal');
    void this.stop().finally(() => {
      process.removeListener(signal, this.#onSignal);
      // A requested, completed stop is a clean exit: supervisors must not see it as a crash.
      if (process.listenerCount(signal) === 0) process.exit(process.exitCode ?? 0);
    });
  };

  constructor(options: ServiceOptions) {
    validateServiceOptions(options);
    const transports = options.transports ?? { [DEFAULT_TRANSPORT]: options.transport ?? DEFAULT_TRANSPORT_URL };
    this.name = options.name;
    this.#options = options;
    this.#logger = options.logger ?? defaultLogger(options.name);
    this.serviceMap = new ServiceMap({
      transports,
      ...(options.services ? { services: options.services } : {}),
      ...(options.strictServiceMap !== undefined ? { strict: options.strictServiceMap } : {}),
    });
    const clock = options.clock ?? systemClock;
    this.#registry = new HandlerRegistry(resolveRetryPolicy(options.retry));
    this.#consumers = new MessageConsumers(options.name, this.#registry);
    const telemetry = options.telemetry === false ? undefined : new Telemetry(options.name, options.telemetry ?? {});
    if (options.finalFailure !== undefined) finalFailureOf({ finalFailure: options.finalFailure });
    this.#dispatcher = new Dispatcher(this.serviceMap, this.#observers, {
      service: options.name,
      interceptors: this.#interceptors,
      ...(telemetry ? { telemetry } : {}),
    });
    const outgoing = new OutgoingMessages(options.name, clock, options.propagateMetadata ?? true);
    this.#parts = {
      outgoing,
      dispatcher: this.#dispatcher,
      requester: new Requester({
        service: options.name,
        map: this.serviceMap,
        outgoing,
        dispatcher: this.#dispatcher,
        observers: this.#observers,
        logger: this.#logger,
        maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        expireAfterMs: options.replyChannelExpiryMs ?? DEFAULT_REPLY_CHANNEL_EXPIRY_MS,
      }),
    };
    this.distributedBus = new ServiceBus(this.#parts);
    const ownDeadLetters =
      options.deadLetters === undefined
        ? defaultDeadLetterStore(options.name, transports, options.services, () => this.#transportOf(this.name))
        : undefined;
    this.deadLetters = options.deadLetters ?? (ownDeadLetters as TransportDeadLetterStore);
    this.#dedup = options.inbox === false ? undefined : (options.inbox ?? new InMemoryInboxStore());
    this.localBus = new LocalBuses({
      service: options.name,
      registry: this.#registry,
      outgoing: this.#parts.outgoing,
      clock,
      context: (envelope, handler) => this.#context(envelope, handler),
      dispatcher: this.#dispatcher,
    });
    this.#runtime = new ServiceRuntime({
      name: options.name,
      options,
      serviceMap: this.serviceMap,
      registry: this.#registry,
      consumers: this.#consumers,
      observers: this.#observers,
      dispatcher: this.#dispatcher,
      bus: this.#parts,
      deadLetters: this.deadLetters,
      ownDeadLetters,
      inbox: this.#dedup,
      interceptors: this.#interceptors,
      telemetry,
      logger: this.#logger,
      abort: this.#abort,
      stopping: this.#stopping.signal,
      context: (envelope, handler, transaction) => this.#context(envelope, handler, transaction),
    });
  }

  /**
   * Register a handler for a contract, a decorated message class, or (events
   * only) a routing pattern such as `order.*`. Throws on a second handler of a
   * command or query, on duplicate ids, and after `start()`.
   */
  handle<C extends Contract>(contract: C, handler: Handler<PayloadOf<C>>, options?: HandlerOptions): this;
  handle<T extends object>(type: MessageClass<T>, handler: Handler<T>, options?: HandlerOptions): this;
  handle(pattern: string, handler: Handler<unknown>, options?: HandlerOptions): this;
  handle(target: MessageRef | string, handler: Handler<never>, options?: HandlerOptions): this {
    this.#registry.add(target, handler as Handler, options);
    return this;
  }

  /** Register a handler for plain messages sent to `endpoint` of this service with `sendMessage`. */
  handleEndpoint(endpoint: string, handler: Handler<unknown>, options?: HandlerOptions): this {
    this.#registry.addEndpoint(endpoint, handler, options);
    return this;
  }

  /**
   * Consume `options.endpoint`, a queue, topic or stream that Switchyard does
   * not own, through this service's receive pipeline (validation, dedup,
   * instant and delayed retries, dead letters in this service's store); see
   * {@link MessageConsumers}. Starts and stops with the service. Throws a
   * ConfigurationError for bad options and after `start()`; `start()` rejects
   * when the transport cannot consume foreign endpoints or the endpoint is missing.
   */
  consumeEndpoint<T = unknown>(options: MessageConsumerOptions<T>, handler: Handler<T>): this {
    this.#consumers.add(options, handler);
    return this;
  }

  /** Register the decorated handler methods of an instance (see `@CommandHandler`). */
  register(instance: object): this {
    registerDecorated(this.#registry, instance);
    return this;
  }

  /**
   * Add an interceptor: `send` runs around every message this service sends
   * (any origin: bus, handler, retry, replay, enqueue, outbox), `handle`
   * around every handler invocation; both in the order registered, the first
   * outermost. Throws after `start()`.
   */
  use(interceptor: Interceptor): this {
    if (this.#state !== 'new') throw new ConfigurationError('register interceptors with use() before start()');
    if (interceptor === null || typeof interceptor !== 'object' || (!interceptor.send && !interceptor.handle)) {
      throw new ConfigurationError('an interceptor is an object with a send and/or a handle function');
    }
    this.#interceptors.push(interceptor);
    return this;
  }

  /**
   * The error that made this service stop consuming its channel (a final
   * failure under strategy `stop`), or undefined while it consumes. The failed
   * message and everything after it stay on the broker until a restart.
   */
  get consumerStopped(): SwitchyardError | undefined {
    return this.#runtime.consumerStopped;
  }

  /** Subscribe to what the service does (sent, handled, failed, retried, deadLettered, duplicate). Returns the unsubscribe function. */
  on<E extends keyof ServiceEvents>(event: E, listener: Listener<E>): () => void {
    return this.#observers.on(event, listener);
  }

  /**
   * Provision this service's channel and subscriptions, then consume. From here
   * until `stop()` the service holds the process alive, whatever its broker
   * does: transports reconnect by themselves, and connection changes are
   * logged once each and shown by {@link health}. Calling it twice rejects.
   *
   * When the broker cannot be reached: with `waitForBroker` unset or false it
   * rejects within `connectTimeoutMs` (default 5 s) with `SY_UNREACHABLE`
   * naming the broker address and leaves the service stopped; with
   * `waitForBroker: true` it resolves at once and keeps trying in the
   * background until it consumes or `stop()` is called.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new')
      throw new SwitchyardError(ErrorCode.Closed, `service '${this.name}' was already started`);
    checkTransactionalInbox(this.#registry, this.#dedup);
    this.#state = 'starting';
    this.#registry.freeze();
    this.#hold.hold();
    try {
      await this.#runtime.start();
    } catch (error) {
      this.#state = 'stopped';
      this.#hold.release();
      throw error;
    }
    if (this.#options.handleSignals ?? true) {
      process.on('SIGTERM', this.#onSignal);
      process.on('SIGINT', this.#onSignal);
    }
    this.#state = 'running';
    this.#logger.info({ service: this.name }, 'service started');
  }

  /**
   * Where the service stands: lifecycle state, whether it consumes, its
   * transport's last reported connection state and the last error. Cheap and
   * synchronous; call it from a readiness probe.
   */
  health(): ServiceHealth {
    return this.#runtime.health(this.#state);
  }

  /**
   * Stop fetching, let in-flight handlers finish (at most `drainTimeoutMs`),
   * stop the outbox relay and close the transports this service created.
   * Unfinished deliveries go back to the broker. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** Resolves when no delivery is being processed by this service right now. */
  whenIdle(): Promise<void> {
    return this.#runtime.whenIdle();
  }

  /** Deliveries being processed right now. */
  get inFlight(): number {
    return this.#runtime.inFlight;
  }

  /** Every registered handler, in registration order (read-only; for tools such as AsyncAPI generation). */
  handlers(): readonly HandlerRegistration[] {
    return this.#registry.all();
  }

  /** Event patterns this service subscribes to (its distributed event handlers). */
  subscriptions(): string[] {
    return this.#registry.subscriptions();
  }

  /** Replay one dead letter of this store to the service it failed in; rejects with SY_NOT_FOUND for an unknown id. */
  replayDeadLetter(id: string): Promise<DeadLetterRecord> {
    return replayDeadLetter(this.deadLetters, id, this.#dispatcher);
  }

  /** Replay every dead letter matching `filter`; resolves with what was replayed. */
  replayDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    return replayDeadLetters(this.deadLetters, filter, this.#dispatcher);
  }

  /** Forward what the outbox holds now (tests, and shutdown paths that must not wait for the relay). */
  flushOutbox(): Promise<number> {
    return this.#runtime.flushOutbox();
  }

  async #transportOf(service: string): Promise<Transport> {
    return (await this.serviceMap.route(service)).transport;
  }

  #context(envelope: Envelope, handler: HandlerRegistration, transaction?: unknown) {
    this.#scope ??= { service: this.name, signal: this.#abort.signal, logger: this.#logger };
    return new Context(this.#parts, envelope, handler, this.#scope, transaction);
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    process.removeListener('SIGTERM', this.#onSignal);
    process.removeListener('SIGINT', this.#onSignal);
    this.#stopping.abort(new SwitchyardError(ErrorCode.Closed, `service '${this.name}' is stopping`));
    try {
      await this.#runtime.stop();
    } finally {
      this.#state = 'stopped';
      this.#hold.release();
      this.#logger.info({ service: this.name }, 'service stopped');
      this.#observers.emit('stopped', { service: this.name });
    }
  }
}

/** Create a service. Validates the configuration at once: a mistake throws a ConfigurationError that says what to change. */
export function createService(options: ServiceOptions): Service {
  return new Service(options);
}
