import type { DeadLetterRecord, Envelope, SendOrigin, Service } from '@switchyard/core';

/** One recorded observation. */
export interface SpyEntry {
  readonly service: string;
  readonly name: string;
  readonly id: string;
  readonly handler?: string;
  readonly envelope?: Envelope;
  /** For `sent` entries: why it was sent (`send`, `retry`, `replay`, `enqueue`, `outbox`). */
  readonly origin?: SendOrigin;
}

/** One dropped reply, as a {@link MessageSpy} saw it. */
export interface DroppedReply {
  readonly service: string;
  readonly reason: 'late' | 'malformed' | 'undeliverable';
  readonly requestId?: string;
}

/**
 * Records what services send, handle, retry and dead-letter, and lets a test
 * wait for a condition with a timeout instead of sleeping.
 */
export class MessageSpy {
  /** Every message the watched services put on a transport, whatever its origin (see `SpyEntry.origin`). */
  readonly sent: SpyEntry[] = [];
  readonly handled: SpyEntry[] = [];
  readonly failed: SpyEntry[] = [];
  readonly retried: SpyEntry[] = [];
  readonly duplicates: SpyEntry[] = [];
  readonly deadLettered: DeadLetterRecord[] = [];
  /** Replies dropped by the watched services (`replyDropped`): late or malformed at a caller, undeliverable at a replier. */
  readonly droppedReplies: DroppedReply[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #detach: Array<() => void> = [];

  /** Start recording `service`. Returns this, for chaining. */
  watch(service: Service): this {
    const name = service.name;
    const record = (list: SpyEntry[], entry: SpyEntry) => {
      list.push(entry);
      for (const wake of this.#waiters) wake();
    };
    this.#detach.push(
      service.on('sent', ({ outbound, origin }) =>
        record(this.sent, {
          service: name,
          name: outbound.message.headers['ce-type'] ?? '?',
          id: outbound.message.id,
          origin,
        }),
      ),
      service.on('handled', ({ handler, envelope }) => record(this.handled, entry(name, envelope, handler))),
      service.on('failed', ({ handler, envelope }) => record(this.failed, entry(name, envelope, handler))),
      service.on('retried', ({ handler, envelope }) => record(this.retried, entry(name, envelope, handler))),
      service.on('duplicate', ({ handler, envelope }) => record(this.duplicates, entry(name, envelope, handler))),
      service.on('replyDropped', ({ reason, requestId }) => {
        this.droppedReplies.push({ service: name, reason, ...(requestId === undefined ? {} : { requestId }) });
        for (const wake of this.#waiters) wake();
      }),
      service.on('deadLettered', ({ record: dead }) => {
        this.deadLettered.push(dead);
        for (const wake of this.#waiters) wake();
      }),
    );
    return this;
  }

  /** Handled entries, optionally of one message name and/or one service. */
  handledOf(name?: string, service?: string): SpyEntry[] {
    return this.handled.filter(
      (e) => (name === undefined || e.name === name) && (service === undefined || e.service === service),
    );
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` naming `what`. Re-checked on every observation. */
  until(predicate: () => boolean, what = 'the expected messages', timeoutMs = 5_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  /** Stop recording. */
  detach(): void {
    for (const off of this.#detach.splice(0)) off();
  }
}

function entry(service: string, envelope: Envelope, handler: string): SpyEntry {
  return { service, name: envelope.headers.name, id: envelope.headers.id, handler, envelope };
}
