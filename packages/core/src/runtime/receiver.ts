import { validate } from '../contracts/validate.js';
import { ErrorCode, HandlerError, PoisonMessageError, SwitchyardError } from '../errors.js';
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
  readonly context: (envelope: Envelope, handler: HandlerRegistration) => HandlerContext;
}

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

  /** The transport's delivery handler. Always settles the delivery; never rejects. */
  readonly handle = async (delivery: Delivery): Promise<void> => {
    this.#inFlight++;
    try {
      await this.#process(delivery);
      await delivery.ack();
    } catch (error) {
      this.#parts.logger.error(
        { err: error, messageId: delivery.message.id },
        'delivery failed; it will be redelivered',
      );
      await delivery.nack({ delayMs: INFRASTRUCTURE_RETRY_MS }).catch(() => undefined);
    } finally {
      if (--this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  };

  async #process(delivery: Delivery): Promise<void> {
    const parts = this.#parts;
    if (parts.inbox.transport.capabilities.delayedDelivery === 'emulated') await this.#holdUntilDue(delivery);
    let envelope: Envelope;
    try {
      envelope = decode(delivery.message, parts.maxMessageBytes);
    } catch (error) {
      await this.#deadLetter(delivery, undefined, undefined, error, delivery.deliveryCount);
      return;
    }
    let handlers: readonly HandlerRegistration[];
    try {
      handlers = this.#route(envelope);
    } catch (error) {
      await this.#deadLetter(delivery, envelope, undefined, error, envelope.headers.attempt);
      return;
    }
    for (const handler of handlers) await this.#runHandler(delivery, envelope, handler);
  }

  #route(envelope: Envelope): readonly HandlerRegistration[] {
    const { registry, inbox } = this.#parts;
    const h = envelope.headers;
    if (h.kind !== 'event' && h.targetService !== inbox.service) {
      throw new PoisonMessageError(
        ErrorCode.Misaddressed,
        `${h.kind} '${h.name}' is addressed to '${h.targetService ?? '(none)'}', not to this service '${inbox.service}'`,
      );
    }
    if (h.targetHandler !== undefined) {
      const handler = registry.byId(h.targetHandler);
      if (!handler)
        throw new PoisonMessageError(
          ErrorCode.NoHandler,
          `handler '${h.targetHandler}' is not registered in '${inbox.service}'`,
        );
      return [handler];
    }
    switch (h.kind) {
      case 'command':
      case 'query': {
        const handler = registry.single(h.name);
        if (handler?.distributed) return [handler];
        throw new PoisonMessageError(
          ErrorCode.NoHandler,
          `${h.kind} '${h.name}' has no distributed handler in '${inbox.service}'`,
        );
      }
      case 'event': {
        const handlers = registry.events(h.name).filter((handler) => handler.distributed);
        if (handlers.length > 0 || inbox.transport.capabilities.patternFiltering === 'client') return handlers;
        throw new PoisonMessageError(
          ErrorCode.NoHandler,
          `event '${h.name}' has no distributed handler in '${inbox.service}'`,
        );
      }
      case 'message': {
        const handlers = registry.channel(h.channel ?? h.name);
        if (handlers.length > 0) return handlers;
        throw new PoisonMessageError(
          ErrorCode.NoHandler,
          `channel '${h.channel ?? h.name}' has no handler in '${inbox.service}'`,
        );
      }
      default:
        throw new PoisonMessageError(ErrorCode.NoHandler, `${h.kind} messages are not handled by '${inbox.service}'`);
    }
  }

  async #runHandler(delivery: Delivery, envelope: Envelope, handler: HandlerRegistration): Promise<void> {
    if (!this.#parts.dedup) return this.#runHandlerOnce(delivery, envelope, handler);
    // Two copies of one message handled at once would both pass the inbox check:
    // the second waits for the first, then consults the inbox.
    const id = envelope.headers.id;
    let running = this.#running.get(handler);
    if (running === undefined) {
      running = new Map();
      this.#running.set(handler, running);
    }
    for (let other = running.get(id); other; other = running.get(id)) await other.catch(() => undefined);
    const run = this.#runHandlerOnce(delivery, envelope, handler);
    running.set(id, run);
    try {
      await run;
    } finally {
      if (running.get(id) === run) running.delete(id);
    }
  }

  async #runHandlerOnce(delivery: Delivery, envelope: Envelope, handler: HandlerRegistration): Promise<void> {
    const parts = this.#parts;
    const id = envelope.headers.id;
    const seen = parts.dedup?.isProcessed(handler.id, id);
    if (seen === true || (seen instanceof Promise && (await seen))) {
      parts.observers.emit('duplicate', { handler: handler.id, envelope });
      return;
    }
    let payload = envelope.payload;
    if (handler.contract) {
      try {
        payload = validate(handler.contract.name, handler.contract.schema, envelope.payload);
        if (payload instanceof Promise) payload = await payload;
      } catch (error) {
        await this.#deadLetter(delivery, envelope, handler.id, error, envelope.headers.attempt);
        return;
      }
    }
    const policy = handler.retry;
    let failure: unknown;
    for (let run = 0; run <= policy.instantRetries; run++) {
      const started = parts.observers.has('handled') ? performance.now() : 0;
      try {
        const result = handler.invoke(payload, parts.context(envelope, handler));
        if (result instanceof Promise) await result;
      } catch (error) {
        failure = error;
        parts.observers.emit('failed', { handler: handler.id, envelope, error });
        if (!policy.retryable(error) || parts.signal.aborted) break;
        continue;
      }
      const marked = parts.dedup?.markProcessed(handler.id, id);
      if (marked instanceof Promise) await marked;
      if (parts.observers.has('handled')) {
        parts.observers.emit('handled', { handler: handler.id, envelope, durationMs: performance.now() - started });
      }
      return;
    }
    if (parts.signal.aborted && !(failure instanceof SwitchyardError)) throw failure;
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
  ) {
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
