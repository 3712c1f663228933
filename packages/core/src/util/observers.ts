import type { SendOrigin } from '../bus/dispatcher.js';
import type { Envelope } from '../message/envelope.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { DeadLetterRecord } from '../resilience/stores.js';

/** What a service reports about its work; flow-testing spies and metrics subscribe to it. */
export interface ServiceEvents {
  /**
   * A message was durably accepted by its broker. Every send reports here, whatever its origin:
   * the bus, a delayed retry, a replay, an asynchronous handler's enqueue, the outbox relay.
   */
  sent: { readonly outbound: OutboundMessage; readonly origin: SendOrigin };
  /** A handler finished successfully. */
  handled: { readonly handler: string; readonly envelope: Envelope; readonly durationMs: number };
  /** A handler invocation threw (it may still be retried). */
  failed: { readonly handler: string; readonly envelope: Envelope; readonly error: unknown };
  /** A delayed retry was scheduled. */
  retried: {
    readonly handler: string;
    readonly envelope: Envelope;
    readonly nextAttempt: number;
    readonly delayMs: number;
  };
  /** A message went to the dead letter. */
  deadLettered: { readonly record: DeadLetterRecord };
  /** The inbox suppressed a redelivery to a handler that had processed it. */
  duplicate: { readonly handler: string; readonly envelope: Envelope };
  /** The service stopped: `stop()` finished (consumers drained, transports closed). Emitted once. */
  stopped: { readonly service: string };
  /**
   * Request/reply: a reply was dropped. `late`: it reached this caller after its request
   * timed out, was aborted, or was never made by this instance; `malformed`: it could not be
   * decoded; `undeliverable`: this replier could not send it (the request is acked anyway).
   */
  replyDropped: {
    readonly service: string;
    readonly reason: 'late' | 'malformed' | 'undeliverable';
    /** Id of the request the reply answers, when known. */
    readonly requestId?: string;
    readonly error?: unknown;
  };
}

/** A listener; exceptions it throws are caught and ignored so that observers never break delivery. */
export type Listener<E extends keyof ServiceEvents> = (event: ServiceEvents[E]) => void;

/** A minimal typed event emitter; `on` returns the unsubscribe function. */
export class Observers {
  readonly #listeners: { [E in keyof ServiceEvents]?: Array<Listener<E>> } = {};

  on<E extends keyof ServiceEvents>(event: E, listener: Listener<E>): () => void {
    let list = this.#listeners[event] as Array<Listener<E>> | undefined;
    if (list === undefined) {
      list = [];
      (this.#listeners as Record<string, unknown>)[event] = list;
    }
    list.push(listener);
    const listeners = list;
    return () => {
      const index = listeners.indexOf(listener);
      if (index >= 0) listeners.splice(index, 1);
    };
  }

  emit<E extends keyof ServiceEvents>(event: E, payload: ServiceEvents[E]): void {
    const list = this.#listeners[event] as Array<Listener<E>> | undefined;
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch {
        // An observer must not be able to fail a delivery.
      }
    }
  }

  /** True when anyone listens to `event`, so that callers can skip building payloads. */
  has(event: keyof ServiceEvents): boolean {
    return (this.#listeners[event]?.length ?? 0) > 0;
  }
}
