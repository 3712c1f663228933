import type { Dispatcher } from '../bus/dispatcher.js';
import { Replier } from '../bus/replier.js';
import type { BusParts } from '../bus/service-bus.js';
import { describeError, ErrorCode, SwitchyardError } from '../errors.js';
import type { Context } from '../handlers/context.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { Interceptor } from '../interceptors/types.js';
import type { Envelope } from '../message/envelope.js';
import { OutboxRelay } from '../outbox/relay.js';
import type { DeadLetterStore, InboxStore } from '../resilience/stores.js';
import { splitBatches } from '../runtime/batch.js';
import { Receiver } from '../runtime/receiver.js';
import type { ChannelGauges } from '../telemetry/channel-gauges.js';
import { messagingSystem, type Telemetry } from '../telemetry/telemetry.js';
import { redact } from '../transport/transport-url.js';
import type { Subscription } from '../transport/types.js';
import { systemClock } from '../util/clock.js';
import { withLogFields } from '../util/log-fields.js';
import type { Logger } from '../util/logger.js';
import type { Observers } from '../util/observers.js';
import type { TransportDeadLetterStore } from './default-dead-letters.js';
import { ConnectionMonitor, type ServiceHealth } from './health.js';
import { attachOnce, attachUntilStopped } from './lifecycle.js';
import type { MessageConsumers } from './message-consumer.js';
import type { ServiceOptions } from './options.js';
import { DEFAULT_TRANSPORT, type ResolvedRoute, type ServiceMap } from './service-map.js';

/** The largest message a service accepts unless `maxMessageBytes` or the transport says less. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** What a {@link ServiceRuntime} is built from: the parts the service wired at construction. */
export interface RuntimeParts {
  name: string;
  options: ServiceOptions;
  serviceMap: ServiceMap;
  registry: HandlerRegistry;
  consumers: MessageConsumers;
  observers: Observers;
  dispatcher: Dispatcher;
  bus: BusParts;
  deadLetters: DeadLetterStore;
  /** The transport's own store, when the options named none: resolved at start, closed at stop. */
  ownDeadLetters: TransportDeadLetterStore | undefined;
  inbox: InboxStore | undefined;
  interceptors: readonly Interceptor[];
  telemetry: Telemetry | undefined;
  logger: Logger;
  /** Aborted by `stop()` once consumers have drained and the requester closed: handlers' contexts see it. */
  abort: AbortController;
  /** Aborted when `stop()` begins: attaching gives up, retries wait no longer. */
  stopping: AbortSignal;
  context: (envelope: Envelope, handler: HandlerRegistration, transaction?: unknown) => Context;
}

/**
 * What a started service runs: the receiver on its channel, the consumers of
 * foreign endpoints, the outbox relay, the connection monitor and the channel
 * gauges. One runtime per service, created by `start()`; `start` may be called
 * once, `stop` is safe to call after a failed or partial start.
 */
export class ServiceRuntime {
  readonly #parts: RuntimeParts;
  #receiver: Receiver | undefined;
  #subscription: Subscription | undefined;
  #relay: OutboxRelay | undefined;
  #monitor: ConnectionMonitor | undefined;
  #channelGauges: ChannelGauges | undefined;
  #attaching: Promise<void> | undefined;
  #consumerStopped: SwitchyardError | undefined;

  constructor(parts: RuntimeParts) {
    this.#parts = parts;
  }

  /** See `Service.consumerStopped`. */
  get consumerStopped(): SwitchyardError | undefined {
    return this.#consumerStopped;
  }

  /** Deliveries being processed right now. */
  get inFlight(): number {
    return this.#receiver?.inFlight ?? 0;
  }

  /** Resolves when no delivery is being processed right now. */
  whenIdle(): Promise<void> {
    return this.#receiver?.whenIdle() ?? Promise.resolve();
  }

  /**
   * Resolve the route, open the dead-letter store, then attach (see
   * `Service.start` for the waitForBroker contract). On failure everything
   * opened so far is closed again before the error is rethrown.
   */
  async start(): Promise<void> {
    const { name, options, logger } = this.#parts;
    try {
      const route = await this.#parts.serviceMap.route(name);
      // A transport without a dead-letter store fails here, before anything is consumed.
      await this.#parts.ownDeadLetters?.resolve();
      const monitor = new ConnectionMonitor(name, route.transport, logger, this.#configuredEndpoint(route));
      this.#monitor = monitor;
      this.#parts.telemetry?.observe(this.#parts.observers);
      this.#channelGauges = this.#parts.telemetry?.observeChannels(route.transport, [route.channel], (error) =>
        logger.warn({ service: name, error: describeError(error) }, 'reading channel stats failed'),
      );
      const receiver = this.#createReceiver(route);
      this.#receiver = receiver;
      const target = {
        attach: () => this.#attach(route, receiver),
        endpoint: () => monitor.endpoint,
        lastError: () => monitor.lastError,
        onDown: (listener: () => void) => monitor.onDown(listener),
      };
      const timeoutMs = options.connectTimeoutMs ?? 5_000;
      if (options.waitForBroker) {
        this.#attaching = attachUntilStopped(target, timeoutMs, this.#parts.stopping, logger, (error) =>
          monitor.noteError(error),
        ).then(
          async (subscription) => {
            if (!subscription) return;
            this.#consuming(subscription);
            await this.#parts.consumers
              .start(this.#parts.serviceMap, receiver.handle)
              .catch((error: unknown) =>
                logger.error({ error: describeError(error) }, 'could not consume a foreign endpoint'),
              );
          },
          (error: unknown) => logger.error({ error: describeError(error) }, 'gave up starting to consume'),
        );
      } else {
        this.#consuming(await attachOnce(target, timeoutMs));
        // Foreign endpoints (consumeEndpoint) attach after the inbox, outside its connect timeout.
        await this.#parts.consumers.start(this.#parts.serviceMap, receiver.handle);
      }
    } catch (error) {
      this.#channelGauges?.close();
      await this.#subscription?.close({ drainTimeoutMs: 0 }).catch(() => undefined);
      await this.#relay?.stop();
      this.#monitor?.close();
      await this.#parts.bus.requester.close();
      await this.#parts.ownDeadLetters?.close().catch(() => undefined);
      await this.#parts.serviceMap.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Drain and close everything `start` opened, in dependency order: the acks
   * of requests whose reply is still being sent, then consumers (in-flight
   * handlers may still send or wait for replies), all within `drainTimeoutMs`; then the
   * requester, the relay, the dead-letter store and the transports.
   */
  async stop(): Promise<void> {
    const { options, logger } = this.#parts;
    const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    const drainUntil = Date.now() + drainTimeoutMs;
    try {
      await this.#attaching;
      // Requests whose reply is still being sent gave their consumer slot back: ack them before the
      // consumers close, or they would be redelivered and answered twice. Within the same drain bound.
      if (this.#receiver !== undefined) await boundedWait(this.#receiver.whenDeferredAcksDone(), drainTimeoutMs);
      const left = Math.max(0, drainUntil - Date.now());
      await Promise.all([
        this.#subscription?.close({ drainTimeoutMs: left }),
        this.#parts.consumers.close({ drainTimeoutMs: left }),
      ]);
    } finally {
      // After the drain: handlers still running may have been waiting for replies.
      await this.#parts.bus.requester.close();
      this.#parts.abort.abort(new SwitchyardError(ErrorCode.Closed, `service '${this.#parts.name}' stopped`));
      await this.#relay?.stop();
      await this.#parts.ownDeadLetters?.close().catch((error: unknown) => {
        logger.warn({ err: error }, 'closing the dead-letter store failed');
      });
      this.#channelGauges?.close();
      await this.#parts.serviceMap.close();
      this.#monitor?.close();
    }
  }

  /** See `Service.health`; `state` is the service's lifecycle state. */
  health(state: ServiceHealth['state']): ServiceHealth {
    const transport = this.#monitor?.snapshot() ?? {
      name: this.#parts.serviceMap.resolvedRoute(this.#parts.name)?.transport.name ?? 'unresolved',
      connected: undefined,
    };
    // A final failure under strategy `stop` ends consumption: unhealthy, with that failure as the last error.
    const consuming = this.#subscription !== undefined && state === 'running' && this.#consumerStopped === undefined;
    const lastError = this.#consumerStopped?.message ?? this.#monitor?.lastError;
    return {
      healthy: consuming && transport.connected !== false,
      state,
      consuming,
      transport,
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  /** Forward what the outbox holds now, with the running relay or a one-off one before start. */
  flushOutbox(): Promise<number> {
    const outbox = this.#parts.options.outbox;
    if (!outbox) return Promise.resolve(0);
    this.#relay ??= this.#newRelay();
    return this.#relay.flush();
  }

  #newRelay(): OutboxRelay {
    const { options, name, logger, dispatcher } = this.#parts;
    return new OutboxRelay(
      options.outbox as NonNullable<ServiceOptions['outbox']>,
      dispatcher,
      { clock: options.clock ?? systemClock, logger: withLogFields(logger, { service: name }) },
      options.outboxRelay,
    );
  }

  #createReceiver(route: ResolvedRoute): Receiver {
    const p = this.#parts;
    const maxMessageBytes = Math.min(
      p.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      route.transport.capabilities.maxMessageBytes,
    );
    return new Receiver({
      service: p.name,
      capabilities: route.transport.capabilities,
      registry: p.registry,
      deadLetters: p.deadLetters,
      inbox: p.inbox,
      dispatcher: p.dispatcher,
      clock: p.options.clock ?? systemClock,
      observers: p.observers,
      logger: p.logger,
      maxMessageBytes,
      signal: p.abort.signal,
      stopping: p.stopping,
      context: p.context,
      replier: new Replier({
        service: p.name,
        transport: route.transport,
        outgoing: p.bus.outgoing,
        observers: p.observers,
        logger: p.logger,
        withStack: p.options.replyErrorStack ?? false,
      }),
      ...(p.telemetry ? { telemetry: p.telemetry } : {}),
      system: messagingSystem(route.transport.name),
      handleInterceptors: p.interceptors.flatMap((interceptor) => (interceptor.handle ? [interceptor.handle] : [])),
      finalFailure: {
        strategy: p.options.finalFailure ?? 'deadLetter',
        onFinalFailure: p.options.onFinalFailure,
        stopConsuming: (error) => this.#stopConsuming(error),
        stopped: () => this.#consumerStopped,
      },
    });
  }

  /** Provision the service's channel and attach its consumer (consumed even without distributed handlers: whatever is sent here must be handled or dead-lettered, not pile up). */
  async #attach(route: ResolvedRoute, receiver: Receiver): Promise<Subscription> {
    const options = this.#parts.options;
    await route.transport.provision({
      channels: [{ name: route.channel, subscriptions: this.#parts.registry.subscriptions() }],
    });
    // A CloudEvents batch message is handled event by event (runtime/batch.ts).
    return route.transport.consume(route.channel, splitBatches(receiver.handle), {
      concurrency: options.concurrency ?? 8,
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    });
  }

  #consuming(subscription: Subscription): void {
    this.#subscription = subscription;
    this.#monitor?.attached();
    if (this.#parts.options.outbox) {
      this.#relay = this.#newRelay();
      this.#relay.start();
    }
  }

  #configuredEndpoint(route: ResolvedRoute): string | undefined {
    const options = this.#parts.options;
    const configured =
      route.transportName === DEFAULT_TRANSPORT && options.transport !== undefined
        ? options.transport
        : options.transports?.[route.transportName];
    return typeof configured === 'string' ? redact(configured) : undefined;
  }

  #stopConsuming(error: SwitchyardError): void {
    if (this.#consumerStopped !== undefined) return;
    this.#consumerStopped = error;
    // Not awaited: closing drains in-flight deliveries, the failing one among them.
    void this.#subscription
      ?.close({ drainTimeoutMs: this.#parts.options.drainTimeoutMs ?? 30_000 })
      .catch((closeError: unknown) => {
        this.#parts.logger.error(
          { service: this.#parts.name, err: closeError },
          'closing the consumer after a final failure failed',
        );
      });
  }
}

/** Wait for `work`, at most `ms`; never rejects. */
async function boundedWait(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([work.catch(() => undefined), bound]);
  clearTimeout(timer);
}
