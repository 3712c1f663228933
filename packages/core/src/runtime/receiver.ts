import { validateIncoming } from '../contracts/versioning.js';
import { HandlerError, SwitchyardError } from '../errors.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { HandlerContext } from '../handlers/types.js';
import { decode, Header } from '../message/codec.js';
import type { Envelope } from '../message/envelope.js';
import { deadLetter, type OwnInbox, scheduleRetry } from '../resilience/failures.js';
import { retryDelayMs } from '../resilience/retry-policy.js';
import type { DeadLetterStore, InboxStore } from '../resilience/stores.js';
import type { Delivery } from '../transport/types.js';
import { type Clock, sleep } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Observers } from '../util/observers.js';
import { route } from './route.js';

/** Everything the receive pipeline of one service needs. */
export interface ReceiverParts {
  readonly inbox: OwnInbox;
  readonly registry: HandlerRegistry;
  readonly deadLetters: DeadLetterStore;
  readonly dedup: InboxStore | undefined;
  readonly clock: Clock;
  readonly observers: Observers;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Aborted when the service stops, after in-flight handlers drained. */
  readonly signal: AbortSignal;
  /** Aborted as soon as stop begins: deliveries still waiting to become due go back at once. */
  readonly stopping: AbortSignal;
  readonly context: (envelope: Envelope, handler: HandlerRegistration, transaction?: unknown) => HandlerContext;
}

/** Shared settled promise: what a synchronous run of the pipeline continues from. */
const DONE: Promise<void> = Promise.resolve();

/** Delay before a delivery is offered again after an infrastructure failure (store or broker down). */
const INFRASTRUCTURE_RETRY_MS = 1_000;

/**
 * The receive pipeline of one service: decode (safe, bounded) → route to
 * handlers → validate → dedup (inbox) → handle with instant retries → delayed
 * retry or dead letter → ack. Nothing is acked before it was handled,
 * re-sent for a retry, or stored as a dead letter; if one of those fails, the
 * delivery is nacked and comes back. Bad input never throws out of here.
 */
export class Receiver {
  readonly #parts: ReceiverParts;
  #inFlight = 0;
  readonly #running = new Map<HandlerRegistration, Map<string, Promise<void>>>();
  #idleWaiters: Array<() => void> = [];

  constructor(parts: ReceiverParts) {
    this.#parts = parts;
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
   * The transport's delivery handler. Always settles the delivery; never rejects.
   * A delivery whose handlers, inbox and schema all answer synchronously goes
   * through without a single await: most deliveries on a busy consumer do, and
   * a microtask per stage was a measurable share of the per-message cost.
   * Anything asynchronous continues on a promise chain with the same order and
   * the same outcomes. The ack itself always runs in a later microtask, never
   * inside this call: a transport whose ack frees a slot and starts the next
   * delivery at once would otherwise recurse once per queued delivery.
   */
  readonly handle = (delivery: Delivery): Promise<void> => {
    this.#inFlight++;
    let processing: undefined | Promise<void>;
    try {
      processing = this.#process(delivery);
    } catch (error) {
      return DONE.then(() => this.#failed(delivery, error));
    }
    return (processing ?? DONE).then(
      () => this.#ack(delivery),
      (error: unknown) => this.#failed(delivery, error),
    );
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
      this.#parts.logger.error(
        { err: error, messageId: delivery.message.id },
        'delivery failed; it will be redelivered',
      );
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

  #process(delivery: Delivery): undefined | Promise<void> {
    if (
      this.#parts.inbox.transport.capabilities.delayedDelivery === 'emulated' &&
      delivery.message.headers[Header.deliverAt] !== undefined
    ) {
      return this.#holdUntilDue(delivery).then(() => this.#decodeAndRun(delivery));
    }
    return this.#decodeAndRun(delivery);
  }

  #decodeAndRun(delivery: Delivery): undefined | Promise<void> {
    let envelope: Envelope;
    try {
      envelope = decode(delivery.message, this.#parts.maxMessageBytes, this.#parts.clock.now());
    } catch (error) {
      return this.#deadLetter(delivery, undefined, undefined, error, delivery.deliveryCount);
    }
    let handlers: readonly HandlerRegistration[];
    try {
      handlers = route(envelope, this.#parts.registry, this.#parts.inbox);
    } catch (error) {
      return this.#deadLetter(delivery, envelope, undefined, error, envelope.headers.attempt);
    }
    return this.#runHandlers(delivery, envelope, handlers, 0);
  }

  /** Handlers run one after the other, in registration order. */
  #runHandlers(
    delivery: Delivery,
    envelope: Envelope,
    handlers: readonly HandlerRegistration[],
    from: number,
  ): undefined | Promise<void> {
    for (let i = from; i < handlers.length; i++) {
      const running = this.#runHandler(delivery, envelope, handlers[i] as HandlerRegistration);
      if (running !== undefined) return running.then(() => this.#runHandlers(delivery, envelope, handlers, i + 1));
    }
    return undefined;
  }

  #runHandler(delivery: Delivery, envelope: Envelope, handler: HandlerRegistration): undefined | Promise<void> {
    if (!this.#parts.dedup) return this.#runHandlerOnce(delivery, envelope, handler);
    // Two copies of one message handled at once would both pass the inbox check: the second waits for
    // the first, then consults the inbox. A run that finished synchronously cannot overlap another.
    const id = envelope.headers.id;
    let running = this.#running.get(handler);
    const other = running?.get(id);
    if (other !== undefined) {
      return other.then(
        () => this.#runHandler(delivery, envelope, handler),
        () => this.#runHandler(delivery, envelope, handler),
      );
    }
    const run = this.#runHandlerOnce(delivery, envelope, handler);
    if (run === undefined) return undefined;
    if (running === undefined) {
      running = new Map();
      this.#running.set(handler, running);
    }
    const runs = running;
    const tracked: Promise<void> = run.finally(() => {
      if (runs.get(id) === tracked) runs.delete(id);
    });
    runs.set(id, tracked);
    return tracked;
  }

  #runHandlerOnce(delivery: Delivery, envelope: Envelope, handler: HandlerRegistration): undefined | Promise<void> {
    const seen = this.#parts.dedup?.isProcessed(handler.id, envelope.headers.id);
    if (seen instanceof Promise) return seen.then((done) => this.#validateAndRun(delivery, envelope, handler, done));
    return this.#validateAndRun(delivery, envelope, handler, seen === true);
  }

  #validateAndRun(
    delivery: Delivery,
    envelope: Envelope,
    handler: HandlerRegistration,
    seen: boolean,
  ): undefined | Promise<void> {
    if (seen) {
      this.#parts.observers.emit('duplicate', { handler: handler.id, envelope });
      return undefined;
    }
    if (!handler.contract) return this.#attempt(delivery, envelope, handler, envelope.payload, 0);
    let payload: unknown;
    try {
      payload = validateIncoming(handler.contract, envelope.payload, envelope.headers.dataSchema);
    } catch (error) {
      return this.#deadLetter(delivery, envelope, handler.id, error, envelope.headers.attempt);
    }
    if (!(payload instanceof Promise)) return this.#attempt(delivery, envelope, handler, payload, 0);
    return payload.then(
      (valid: unknown) => this.#attempt(delivery, envelope, handler, valid, 0),
      (error: unknown) => this.#deadLetter(delivery, envelope, handler.id, error, envelope.headers.attempt),
    );
  }

  /** Run `run` (0 = first, then the instant retries); a handler's own error never escapes from here. */
  #attempt(
    delivery: Delivery,
    envelope: Envelope,
    handler: HandlerRegistration,
    payload: unknown,
    run: number,
  ): undefined | Promise<void> {
    const parts = this.#parts;
    const started = parts.observers.has('handled') ? performance.now() : 0;
    let result: unknown;
    try {
      const dedup = parts.dedup;
      result =
        handler.transactionalInbox && dedup?.processInTransaction
          ? dedup.processInTransaction(handler.id, envelope.headers.id, (tx) =>
              handler.invoke(payload, parts.context(envelope, handler, tx)),
            )
          : handler.invoke(payload, parts.context(envelope, handler));
    } catch (error) {
      return this.#attemptFailed(delivery, envelope, handler, payload, run, error);
    }
    if (result instanceof Promise) {
      return result.then(
        () => this.#handled(envelope, handler, started),
        (error: unknown) => this.#attemptFailed(delivery, envelope, handler, payload, run, error),
      );
    }
    return this.#handled(envelope, handler, started);
  }

  /** The handler succeeded: record it in the inbox (a failure there is an infrastructure failure). */
  #handled(envelope: Envelope, handler: HandlerRegistration, started: number): undefined | Promise<void> {
    const marked = this.#parts.dedup?.markProcessed(handler.id, envelope.headers.id);
    if (marked instanceof Promise) return marked.then(() => this.#emitHandled(envelope, handler, started));
    this.#emitHandled(envelope, handler, started);
    return undefined;
  }

  #emitHandled(envelope: Envelope, handler: HandlerRegistration, started: number): void {
    const observers = this.#parts.observers;
    if (observers.has('handled')) {
      observers.emit('handled', { handler: handler.id, envelope, durationMs: performance.now() - started });
    }
  }

  #attemptFailed(
    delivery: Delivery,
    envelope: Envelope,
    handler: HandlerRegistration,
    payload: unknown,
    run: number,
    failure: unknown,
  ): undefined | Promise<void> {
    const parts = this.#parts;
    parts.observers.emit('failed', { handler: handler.id, envelope, error: failure });
    const policy = handler.retry;
    if (policy.retryable(failure) && !parts.signal.aborted && run < policy.instantRetries) {
      return this.#attempt(delivery, envelope, handler, payload, run + 1);
    }
    return this.#giveUp(delivery, envelope, handler, failure);
  }

  /** Instant retries are spent: a delayed retry to this handler alone, or the dead letter. */
  async #giveUp(delivery: Delivery, envelope: Envelope, handler: HandlerRegistration, failure: unknown): Promise<void> {
    const parts = this.#parts;
    if (parts.signal.aborted && !(failure instanceof SwitchyardError)) throw failure;
    const policy = handler.retry;
    const attempt = envelope.headers.attempt;
    if (policy.retryable(failure) && attempt <= policy.delayedRetries) {
      const delayMs = retryDelayMs(policy, attempt);
      await scheduleRetry(parts.inbox, parts.clock, delivery.message, {
        handler: handler.id,
        attempt: attempt + 1,
        delayMs,
      });
      parts.observers.emit('retried', { handler: handler.id, envelope, nextAttempt: attempt + 1, delayMs });
      return;
    }
    await this.#deadLetter(delivery, envelope, handler.id, new HandlerError(handler.id, failure), attempt);
  }

  async #deadLetter(
    delivery: Delivery,
    envelope: Envelope | undefined,
    handler: string | undefined,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const { inbox, deadLetters, observers, clock, logger } = this.#parts;
    const record = await deadLetter(deadLetters, observers, clock, {
      service: inbox.service,
      channel: delivery.channel,
      message: delivery.message,
      ...(envelope ? { envelope } : {}),
      ...(handler !== undefined ? { handler } : {}),
      error,
      attempts,
    });
    logger.warn(
      { deadLetter: record.id, messageId: record.messageId, reason: record.reason.message },
      'message dead-lettered',
    );
  }

  async #holdUntilDue(delivery: Delivery): Promise<void> {
    const raw = delivery.message.headers[Header.deliverAt];
    if (raw === undefined) return;
    const wait = Date.parse(raw) - this.#parts.clock.now();
    if (wait > 0) await sleep(this.#parts.clock, wait, this.#parts.stopping);
  }
}
