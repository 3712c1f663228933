import type { Dispatcher } from '../bus/dispatcher.js';
import type { Replier } from '../bus/replier.js';
import type { SwitchyardError } from '../errors.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { handleInterceptorStage } from '../interceptors/handle-stage.js';
import type { HandleInterceptor } from '../interceptors/types.js';
import type { DeadLetterStore, InboxStore } from '../resilience/stores.js';
import { processStage } from '../telemetry/process-stage.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { Delivery, TransportCapabilities } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { rawLogFields } from '../util/log-fields.js';
import type { Logger } from '../util/logger.js';
import type { Observers } from '../util/observers.js';
import { deadLetterStage } from './stages/dead-letter.js';
import { decodeStage } from './stages/decode.js';
import { dedupStage } from './stages/dedup.js';
import { type FinalFailureParts, finalFailureStage, haltStage } from './stages/final-failure.js';
import { handlersStage } from './stages/handlers.js';
import { holdStage } from './stages/hold.js';
import { instantRetryStage } from './stages/instant-retry.js';
import { type ContextFactory, invokeStage } from './stages/invoke.js';
import { oneAtATimeStage } from './stages/one-at-a-time.js';
import { compose, type DeliveryRun, deliveryRun, type HandlerRun, type Stage, type Step } from './stages/pipeline.js';
import { replyStage, unroutedRequestStage } from './stages/reply.js';
import { reportStage } from './stages/report.js';
import { retryStage } from './stages/retry.js';
import { routeStage } from './stages/route.js';
import { validateStage } from './stages/validate.js';

/**
 * Everything the receive pipeline of one service needs.
 * @internal
 */
export interface ReceiverParts {
  /** This service's name. */
  readonly service: string;
  /** Capabilities of the transport its channel lives on (emulated delay, client-side pattern filtering). */
  readonly capabilities: TransportCapabilities;
  readonly registry: HandlerRegistry;
  readonly deadLetters: DeadLetterStore;
  readonly inbox: InboxStore | undefined;
  /** The one send path: delayed retries go through it. */
  readonly dispatcher: Pick<Dispatcher, 'dispatch'>;
  readonly clock: Clock;
  readonly observers: Observers;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Aborted when the service stops, after in-flight handlers drained. */
  readonly signal: AbortSignal;
  /** Aborted as soon as stop begins: deliveries still waiting to become due go back at once. */
  readonly stopping: AbortSignal;
  readonly context: ContextFactory;
  /**
   * Extra stages (interceptors): `delivery` ones run first for each delivery,
   * `handler` ones first for each handler's run, seeing its final outcome.
   */
  readonly interceptors?: {
    readonly delivery?: readonly Stage<DeliveryRun>[];
    readonly handler?: readonly Stage<HandlerRun>[];
  };
  /** Spans and metrics of each handler run; absent when the service turned telemetry off. */
  readonly telemetry?: Telemetry;
  /** `messaging.system` of the channel's transport. */
  readonly system?: string;
  /** User handle interceptors (`service.use`), around each invocation. */
  readonly handleInterceptors?: readonly HandleInterceptor[];
  /** The final-failure strategy and hook; without it, every final failure is dead-lettered. */
  /** Answers requests (queries with a reply address); without it they are handled like any query. */
  readonly replier?: Pick<Replier, 'reply' | 'fail'>;
  readonly finalFailure?: Omit<FinalFailureParts, 'service' | 'telemetry' | 'logger'> & {
    /** The error that stopped consumption (strategy `stop`), if it happened. */
    readonly stopped: () => SwitchyardError | undefined;
  };
}

/** Shared settled promise: what a synchronous run of the pipeline continues from. */
const DONE: Promise<void> = Promise.resolve();

/** Delay before a delivery is offered again after an infrastructure failure (store or broker down). */
const INFRASTRUCTURE_RETRY_MS = 1_000;

/**
 * The stages of the delivery pipeline, in order; the last one runs the
 * handler pipeline for each chosen handler. See `stages/pipeline.ts`.
 * @internal
 */
export function deliveryStages(parts: ReceiverParts): Stage<DeliveryRun>[] {
  return [
    ...(parts.finalFailure ? [haltStage(parts.finalFailure.stopped)] : []),
    ...(parts.interceptors?.delivery ?? []),
    ...(parts.capabilities.delayedDelivery === 'emulated' ? [holdStage(parts)] : []),
    deadLetterStage<DeliveryRun>(deadLetterParts(parts)),
    decodeStage(parts.maxMessageBytes, parts.clock),
    ...(parts.replier ? [unroutedRequestStage(parts.replier)] : []),
    routeStage(parts.registry, { service: parts.service, patternFiltering: parts.capabilities.patternFiltering }),
    handlersStage(compose(handlerStages(parts))),
  ];
}

/**
 * The stages of one handler's run, in order.
 * @internal
 */
export function handlerStages(parts: ReceiverParts): Stage<HandlerRun>[] {
  const { service, telemetry, logger } = parts;
  const handleInterceptors = parts.handleInterceptors ?? [];
  return [
    ...(telemetry ? [processStage(telemetry, parts.system ?? 'unknown')] : []),
    reportStage(parts.observers),
    ...(parts.interceptors?.handler ?? []),
    ...(parts.inbox ? [oneAtATimeStage(), dedupStage(parts.inbox, parts.observers)] : []),
    deadLetterStage<HandlerRun>(deadLetterParts(parts)),
    ...(parts.finalFailure ? [finalFailureStage({ ...parts.finalFailure, service, telemetry, logger })] : []),
    ...(parts.replier ? [replyStage(parts.replier, parts.signal)] : []),
    validateStage(),
    retryStage(parts),
    instantRetryStage(parts.signal),
    ...(handleInterceptors.length > 0 ? [handleInterceptorStage(service, handleInterceptors)] : []),
    invokeStage(parts.context, parts.observers, parts.inbox),
  ];
}

function deadLetterParts(parts: ReceiverParts) {
  const { service, deadLetters: store, observers, clock, logger } = parts;
  return { service, store, observers, clock, logger };
}

/**
 * The receive pipeline of one service: hold until due (emulated delay) →
 * dead letter ⟨ decode (safe, bounded) → [unrouted request ⟨] route to handlers → per handler:
 * report ⟨ one at a time → dedup (inbox) → dead letter ⟨ reply (requests) ⟨ validate → delayed
 * retry ⟨ instant retries ⟨ invoke ⟩⟩⟩⟩ ⟩ → ack. Each step is a stage in
 * `stages/`, composed by `stages/pipeline.ts`. Nothing is acked before it was
 * handled, re-sent for a retry, or stored as a dead letter; if one of those
 * fails, the delivery is nacked and comes back. Bad input never throws out of
 * here.
 * @internal
 */
export class Receiver {
  readonly #logger: Logger;
  readonly #service: string;
  readonly #pipeline: (run: DeliveryRun) => Step;
  readonly #stopping: AbortSignal;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  /** Deliveries that gave their slot back and wait for `run.ackAfter` (a reply being sent) to be acked. */
  #deferred = 0;
  #deferredWaiters: Array<() => void> = [];

  constructor(parts: ReceiverParts) {
    this.#logger = parts.logger;
    this.#service = parts.service;
    this.#stopping = parts.stopping;
    this.#pipeline = compose(deliveryStages(parts));
  }

  /** Deliveries being processed now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves when no delivery is being processed. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Resolves once every delivery that gave its transport slot back before
   * its ack (a request whose reply was still being sent) has been acked or
   * nacked. Once the service is stopping no delivery gives its slot back any
   * more (it holds it until its ack, so the transport's drain waits for it):
   * called after stop began, this resolves as soon as the acks pending at that
   * moment are done, however many deliveries still arrive.
   */
  whenDeferredAcksDone(): Promise<void> {
    if (this.#deferred === 0) return DONE;
    return new Promise((resolve) => this.#deferredWaiters.push(resolve));
  }

  /**
   * The transport's delivery handler. Always settles the delivery; never
   * rejects. A delivery whose stages all answer synchronously goes through
   * without a single await. The ack itself always runs in a later microtask,
   * never inside this call: a transport whose ack frees a slot and starts the
   * next delivery at once would otherwise recurse once per queued delivery.
   */
  readonly handle = (delivery: Delivery): Promise<void> => {
    this.#inFlight++;
    const run = deliveryRun(delivery);
    let processing: Step;
    try {
      processing = this.#pipeline(run);
    } catch (error) {
      return DONE.then(() => this.#failed(delivery, error));
    }
    return (processing ?? DONE).then(
      () => this.#ackWhenDone(run),
      (error: unknown) => this.#failed(delivery, error),
    );
  };

  /**
   * Ack now, or — when a stage left work that must come first (`run.ackAfter`)
   * — return at once, freeing the transport's slot, and ack once it resolved.
   * The delivery stays in `inFlight` (and `whenIdle` waits) until then.
   */
  #ackWhenDone(run: DeliveryRun): Promise<void> | undefined {
    const { ackAfter, delivery } = run;
    if (ackAfter === undefined) return this.#ack(delivery);
    const acked = ackAfter.then(
      () => this.#ack(delivery),
      (error: unknown) => this.#failed(delivery, error),
    );
    // Stopping: keep the slot, or the transport would close the consumer under the pending ack and the request would come back.
    if (this.#stopping.aborted) return acked;
    this.#deferred++;
    acked.then(this.#deferredDone);
    return undefined;
  }

  readonly #deferredDone = (): void => {
    if (--this.#deferred === 0) for (const resolve of this.#deferredWaiters.splice(0)) resolve();
  };

  #ack(delivery: Delivery): Promise<void> {
    let acked: Promise<void>;
    try {
      acked = delivery.ack();
    } catch (error) {
      return this.#failed(delivery, error);
    }
    return acked.then(this.#settled, (error: unknown) => this.#failed(delivery, error));
  }

  /** An infrastructure failure (inbox, dead-letter store, retry send or ack): the delivery comes back later. */
  async #failed(delivery: Delivery, error: unknown): Promise<void> {
    try {
      const fields = rawLogFields(this.#service, delivery.message.id, delivery.message.headers);
      this.#logger.error({ ...fields, err: error }, 'delivery failed; it will be redelivered');
      await delivery.nack({ delayMs: INFRASTRUCTURE_RETRY_MS });
    } catch {
      // The lease or visibility timeout brings it back anyway.
    } finally {
      this.#settled();
    }
  }

  readonly #settled = (): void => {
    if (--this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  };
}
