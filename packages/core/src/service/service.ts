import { Dispatcher } from '../bus/dispatcher.js';
import { LocalBuses } from '../bus/local-bus.js';
import { OutgoingMessages } from '../bus/outgoing.js';
import { Replier } from '../bus/replier.js';
import { DEFAULT_REPLY_CHANNEL_EXPIRY_MS, Requester } from '../bus/request.js';
import { type BusParts, ServiceBus } from '../bus/service-bus.js';
import type { Contract, PayloadOf } from '../contracts/contract.js';
import type { MessageClass } from '../contracts/message-class.js';
import { ConfigurationError, describeError, ErrorCode, SwitchyardError } from '../errors.js';
import { Context } from '../handlers/context.js';
import { registerDecorated } from '../handlers/decorators.js';
import { finalFailureOf, type HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { Handler, HandlerOptions, MessageRef } from '../handlers/types.js';
import type { Interceptor } from '../interceptors/types.js';
import { OutboxRelay } from '../outbox/relay.js';
import { InMemoryInboxStore } from '../resilience/memory-stores.js';
import { replayDeadLetter, replayDeadLetters } from '../resilience/replay.js';
import { resolveRetryPolicy } from '../resilience/retry-policy.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore, InboxStore } from '../resilience/stores.js';
import { splitBatches } from '../runtime/batch.js';
import { Receiver } from '../runtime/receiver.js';
import type { ChannelGauges } from '../telemetry/channel-gauges.js';
import { messagingSystem, Telemetry } from '../telemetry/telemetry.js';
import { DEFAULT_TRANSPORT_URL, redact } from '../transport/transport-url.js';
import type { Subscription, Transport } from '../transport/types.js';
import { systemClock } from '../util/clock.js';
import { withLogFields } from '../util/log-fields.js';
import { defaultLogger, type Logger } from '../util/logger.js';
import { type Listener, Observers, type ServiceEvents } from '../util/observers.js';
import { defaultDeadLetterStore, type TransportDeadLetterStore } from './default-dead-letters.js';
import { ConnectionMonitor, type ServiceHealth } from './health.js';
import { attachOnce, attachUntilStopped, ProcessHold } from './lifecycle.js';
import { type MessageConsumerOptions, MessageConsumers } from './message-consumer.js';
import type { ServiceOptions } from './options.js';
import { DEFAULT_TRANSPORT, type ResolvedRoute, ServiceMap } from './service-map.js';

const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

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
  /** The transport's store, when the options named none; opened at start, closed at stop. */
  readonly #ownDeadLetters: TransportDeadLetterStore | undefined;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #stopping = new AbortController();
  readonly #interceptors: Interceptor[] = [];
  readonly #telemetry: Telemetry | undefined;
  #consumerStopped: SwitchyardError | undefined;
  #scope: { service: string; signal: AbortSignal; logger: Logger } | undefined;
  #receiver: Receiver | undefined;
  #subscription: Subscription | undefined;
  #relay: OutboxRelay | undefined;
  #monitor: ConnectionMonitor | undefined;
  /** The `switchyard.channel.*` gauges of the service's channel, while running with a meter provider. */
  #channelGauges: ChannelGauges | undefined;
  #attaching: Promise<void> | undefined;
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
    if (typeof options?.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.name)) {
      throw new ConfigurationError(
        `service name '${String(options?.name)}' is invalid: use letters, digits, '.', '_' and '-'`,
      );
    }
    for (const field of [
      'concurrency',
      'prefetch',
      'maxMessageBytes',
      'drainTimeoutMs',
      'connectTimeoutMs',
      'replyChannelExpiryMs',
    ] as const) {
      const value = options[field];
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new ConfigurationError(`${field} must be a positive integer, got ${value}`);
      }
    }
    if (options.transport !== undefined && options.transports !== undefined) {
      throw new ConfigurationError("pass either 'transport' (one broker) or 'transports' (several), not both");
    }
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
    if (options.telemetry !== false) {
      this.#telemetry = new Telemetry(options.name, options.telemetry ?? {});
    }
    if (options.finalFailure !== undefined) finalFailureOf({ finalFailure: options.finalFailure });
    this.#dispatcher = new Dispatcher(this.serviceMap, this.#observers, {
      service: options.name,
      interceptors: this.#interceptors,
      ...(this.#telemetry ? { telemetry: this.#telemetry } : {}),
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
    this.#ownDeadLetters =
      options.deadLetters === undefined
        ? defaultDeadLetterStore(options.name, transports, options.services, () => this.#transportOf(this.name))
        : undefined;
    this.deadLetters = options.deadLetters ?? (this.#ownDeadLetters as TransportDeadLetterStore);
    this.#dedup = options.inbox === false ? undefined : (options.inbox ?? new InMemoryInboxStore());
    this.localBus = new LocalBuses({
      service: options.name,
      registry: this.#registry,
      outgoing: this.#parts.outgoing,
      clock,
      context: (envelope, handler) => this.#context(envelope, handler),
      dispatcher: this.#dispatcher,
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
    return this.#consumerStopped;
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
    this.#checkTransactionalInbox();
    this.#state = 'starting';
    this.#registry.freeze();
    this.#hold.hold();
    try {
      const route = await this.serviceMap.route(this.name);
      // A transport without a dead-letter store fails here, before anything is consumed.
      await this.#ownDeadLetters?.resolve();
      this.#monitor = new ConnectionMonitor(this.name, route.transport, this.#logger, this.#configuredEndpoint(route));
      this.#telemetry?.observe(this.#observers);
      this.#channelGauges = this.#telemetry?.observeChannels(route.transport, [route.channel], (error) =>
        this.#logger.warn({ service: this.name, error: describeError(error) }, 'reading channel stats failed'),
      );
      this.#receiver = this.#createReceiver(route);
      const monitor = this.#monitor;
      const target = {
        attach: () => this.#attach(route),
        endpoint: () => monitor.endpoint,
        lastError: () => monitor.lastError,
        onDown: (listener: () => void) => monitor.onDown(listener),
      };
      const timeoutMs = this.#options.connectTimeoutMs ?? 5_000;
      if (this.#options.waitForBroker) {
        this.#attaching = attachUntilStopped(target, timeoutMs, this.#stopping.signal, this.#logger, (error) =>
          monitor.noteError(error),
        ).then(
          async (subscription) => {
            if (!subscription) return;
            this.#consuming(subscription);
            await this.#consumers
              .start(this.serviceMap, (this.#receiver as Receiver).handle)
              .catch((error: unknown) =>
                this.#logger.error({ error: describeError(error) }, 'could not consume a foreign endpoint'),
              );
          },
          (error: unknown) => this.#logger.error({ error: describeError(error) }, 'gave up starting to consume'),
        );
      } else {
        this.#consuming(await attachOnce(target, timeoutMs));
        // Foreign endpoints (consumeEndpoint) attach after the inbox, outside its connect timeout.
        await this.#consumers.start(this.serviceMap, this.#receiver.handle);
      }
    } catch (error) {
      this.#state = 'stopped';
      this.#channelGauges?.close();
      await this.#subscription?.close({ drainTimeoutMs: 0 }).catch(() => undefined);
      await this.#relay?.stop();
      this.#monitor?.close();
      await this.#parts.requester.close();
      await this.#ownDeadLetters?.close().catch(() => undefined);
      await this.serviceMap.close().catch(() => undefined);
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
    const transport = this.#monitor?.snapshot() ?? {
      name: this.serviceMap.resolvedRoute(this.name)?.transport.name ?? 'unresolved',
      connected: undefined,
    };
    // A final failure under strategy `stop` ends consumption: unhealthy, with that failure as the last error.
    const consuming =
      this.#subscription !== undefined && this.#state === 'running' && this.#consumerStopped === undefined;
    const lastError = this.#consumerStopped?.message ?? this.#monitor?.lastError;
    return {
      healthy: consuming && transport.connected !== false,
      state: this.#state,
      consuming,
      transport,
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  #createReceiver(route: ResolvedRoute): Receiver {
    const maxMessageBytes = Math.min(
      this.#options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      route.transport.capabilities.maxMessageBytes,
    );
    return new Receiver({
      service: this.name,
      capabilities: route.transport.capabilities,
      registry: this.#registry,
      deadLetters: this.deadLetters,
      inbox: this.#dedup,
      dispatcher: this.#dispatcher,
      clock: this.#options.clock ?? systemClock,
      observers: this.#observers,
      logger: this.#logger,
      maxMessageBytes,
      signal: this.#abort.signal,
      stopping: this.#stopping.signal,
      context: (envelope, handler, transaction) => this.#context(envelope, handler, transaction),
      replier: new Replier({
        service: this.name,
        transport: route.transport,
        outgoing: this.#parts.outgoing,
        observers: this.#observers,
        logger: this.#logger,
        withStack: this.#options.replyErrorStack ?? false,
      }),
      ...(this.#telemetry ? { telemetry: this.#telemetry } : {}),
      system: messagingSystem(route.transport.name),
      handleInterceptors: this.#interceptors.flatMap((interceptor) => (interceptor.handle ? [interceptor.handle] : [])),
      finalFailure: {
        strategy: this.#options.finalFailure ?? 'deadLetter',
        onFinalFailure: this.#options.onFinalFailure,
        stopConsuming: (error) => this.#stopConsuming(error),
        stopped: () => this.#consumerStopped,
      },
    });
  }

  /** Provision the service's channel and attach its consumer (consumed even without distributed handlers: whatever is sent here must be handled or dead-lettered, not pile up). */
  async #attach(route: ResolvedRoute): Promise<Subscription> {
    await route.transport.provision({
      channels: [{ name: route.channel, subscriptions: this.#registry.subscriptions() }],
    });
    const receiver = this.#receiver as Receiver;
    // A CloudEvents batch message is handled event by event (runtime/batch.ts).
    const subscription = await route.transport.consume(route.channel, splitBatches(receiver.handle), {
      concurrency: this.#options.concurrency ?? 8,
      ...(this.#options.prefetch !== undefined ? { prefetch: this.#options.prefetch } : {}),
    });
    return subscription;
  }

  #consuming(subscription: Subscription): void {
    this.#subscription = subscription;
    this.#monitor?.attached();
    if (this.#options.outbox) {
      this.#relay = new OutboxRelay(
        this.#options.outbox,
        this.#dispatcher,
        { clock: this.#options.clock ?? systemClock, logger: withLogFields(this.#logger, { service: this.name }) },
        this.#options.outboxRelay,
      );
      this.#relay.start();
    }
  }

  #configuredEndpoint(route: ResolvedRoute): string | undefined {
    const configured =
      route.transportName === DEFAULT_TRANSPORT && this.#options.transport !== undefined
        ? this.#options.transport
        : this.#options.transports?.[route.transportName];
    return typeof configured === 'string' ? redact(configured) : undefined;
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
    return this.#receiver?.whenIdle() ?? Promise.resolve();
  }

  /** Deliveries being processed right now. */
  get inFlight(): number {
    return this.#receiver?.inFlight ?? 0;
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
  async flushOutbox(): Promise<number> {
    if (!this.#options.outbox) return 0;
    this.#relay ??= new OutboxRelay(this.#options.outbox, this.#dispatcher, {
      clock: this.#options.clock ?? systemClock,
      logger: withLogFields(this.#logger, { service: this.name }),
    });
    return this.#relay.flush();
  }

  async #transportOf(service: string): Promise<Transport> {
    return (await this.serviceMap.route(service)).transport;
  }

  #context(
    envelope: import('../message/envelope.js').Envelope,
    handler: import('../handlers/registry.js').HandlerRegistration,
    transaction?: unknown,
  ) {
    this.#scope ??= { service: this.name, signal: this.#abort.signal, logger: this.#logger };
    return new Context(this.#parts, envelope, handler, this.#scope, transaction);
  }

  /** Every handler asking for a transactional inbox needs a store that can run one. */
  #checkTransactionalInbox(): void {
    if (this.#dedup?.processInTransaction !== undefined) return;
    const asking = this.#registry.all().find((handler) => handler.transactionalInbox);
    if (asking === undefined) return;
    throw new ConfigurationError(
      `handler '${asking.id}' asks for transactionalInbox, but the service's inbox store cannot run the handler and its record in one transaction: pass an inbox store that implements processInTransaction (SqliteInboxStore, or the PostgreSQL inbox)`,
    );
  }

  #stopConsuming(error: SwitchyardError): void {
    if (this.#consumerStopped !== undefined) return;
    this.#consumerStopped = error;
    const subscription = this.#subscription;
    // Not awaited: closing drains in-flight deliveries, the failing one among them.
    void subscription
      ?.close({ drainTimeoutMs: this.#options.drainTimeoutMs ?? 30_000 })
      .catch((closeError: unknown) => {
        this.#logger.error(
          { service: this.name, err: closeError },
          'closing the consumer after a final failure failed',
        );
      });
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    process.removeListener('SIGTERM', this.#onSignal);
    process.removeListener('SIGINT', this.#onSignal);
    const drainTimeoutMs = this.#options.drainTimeoutMs ?? 30_000;
    this.#stopping.abort(new SwitchyardError(ErrorCode.Closed, `service '${this.name}' is stopping`));
    try {
      await this.#attaching;
      await Promise.all([this.#subscription?.close({ drainTimeoutMs }), this.#consumers.close({ drainTimeoutMs })]);
    } finally {
      // After the drain: handlers still running may have been waiting for replies.
      await this.#parts.requester.close();
      this.#abort.abort(new SwitchyardError(ErrorCode.Closed, `service '${this.name}' stopped`));
      await this.#relay?.stop();
      await this.#ownDeadLetters?.close().catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'closing the dead-letter store failed');
      });
      this.#channelGauges?.close();
      await this.serviceMap.close();
      this.#monitor?.close();
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
