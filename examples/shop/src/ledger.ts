import { matchesPattern } from '@switchyard/core';
import type { HandlerInfo } from './protocol.js';

/** A message some service (or the storefront) had durably accepted by the broker. */
export interface SentMessage {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  /** Target service of a command. */
  readonly target?: string;
}

/** A handler that should have handled or dead-lettered a sent message and did neither (yet). */
export interface Missing {
  readonly id: string;
  readonly name: string;
  /** `service/handler`, or `service/*` when the service is unknown or has no handler for it. */
  readonly handler: string;
}

/** The counts of the run, as printed on the launcher's last line. */
export interface Totals {
  readonly sent: number;
  readonly handled: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly lost: number;
}

type Outcome = 'handled' | 'deadLettered';

/**
 * Accounts for every sent message, by id: from the handlers each service
 * declared when it became ready, it derives which handlers must handle a
 * message (the target's command handler; every matching event handler of
 * every service), and checks each against what the services reported as
 * handled or dead-lettered. Reports may arrive in any order across processes.
 */
export class Ledger {
  readonly #handlers = new Map<string, readonly HandlerInfo[]>();
  readonly #sent = new Map<string, SentMessage>();
  readonly #outcomes = new Map<string, Map<string, Outcome>>();
  /** Ids of sent messages not yet accounted for, kept up to date per report so that waiting stays O(1) per report. */
  readonly #open = new Set<string>();
  #handled = 0;
  #retried = 0;
  readonly #deadLetters: Array<{ service: string; handler?: string; id: string }> = [];

  /** A service is consuming, with these handlers. */
  ready(service: string, handlers: readonly HandlerInfo[]): void {
    this.#handlers.set(service, handlers);
    for (const id of this.#sent.keys()) this.#evaluate(id);
  }

  sent(message: SentMessage): void {
    this.#sent.set(message.id, message);
    this.#evaluate(message.id);
  }

  handled(service: string, handler: string, id: string): void {
    this.#handled++;
    this.#outcome(id).set(`${service}/${handler}`, 'handled');
    this.#evaluate(id);
  }

  retried(): void {
    this.#retried++;
  }

  /** `handler` is absent when the message failed before a handler was chosen: it then covers the whole service. */
  deadLettered(service: string, handler: string | undefined, id: string): void {
    this.#deadLetters.push({ service, ...(handler !== undefined ? { handler } : {}), id });
    this.#outcome(id).set(`${service}/${handler ?? '*'}`, 'deadLettered');
    this.#evaluate(id);
  }

  /** True when every sent message is accounted for (maintained incrementally; equal to `missing().length === 0`). */
  settled(): boolean {
    return this.#open.size === 0;
  }

  /** What the services reported as dead-lettered, in report order. */
  deadLetters(): ReadonlyArray<{ service: string; handler?: string; id: string }> {
    return this.#deadLetters;
  }

  /** Every `(message, handler)` pair still without an outcome. */
  missing(): Missing[] {
    const missing: Missing[] = [];
    for (const message of this.#sent.values()) {
      const outcomes = this.#outcomes.get(message.id);
      for (const handler of this.expectedHandlers(message)) {
        const service = handler.slice(0, handler.indexOf('/'));
        if (!outcomes?.has(handler) && !outcomes?.has(`${service}/*`))
          missing.push({ id: message.id, name: message.name, handler });
      }
    }
    return missing;
  }

  /** The `service/handler` pairs that must account for `message`. */
  expectedHandlers(message: SentMessage): string[] {
    if (message.kind === 'event') {
      const expected: string[] = [];
      for (const [service, handlers] of this.#handlers) {
        for (const handler of handlers) {
          if (handler.kind === 'event' && matchesPattern(handler.pattern, message.name))
            expected.push(`${service}/${handler.id}`);
        }
      }
      return expected;
    }
    const target = message.target ?? '(none)';
    const handler = this.#handlers.get(target)?.find((h) => h.kind === 'command' && h.pattern === message.name);
    return [`${target}/${handler?.id ?? '*'}`];
  }

  /** Handled or dead-lettered message ids that were never reported as sent in this run (left over from an earlier one). */
  strangers(): number {
    let count = 0;
    for (const id of this.#outcomes.keys()) if (!this.#sent.has(id)) count++;
    return count;
  }

  /** Sent messages by name, e.g. `{ 'order.place': 20 }`. */
  sentByName(): Record<string, number> {
    const byName: Record<string, number> = {};
    for (const message of this.#sent.values()) byName[message.name] = (byName[message.name] ?? 0) + 1;
    return byName;
  }

  /** The counts; `lost` is the number of sent messages that some expected handler neither handled nor dead-lettered. */
  totals(extraLost = 0): Totals {
    const lostIds = new Set(this.missing().map((entry) => entry.id));
    return {
      sent: this.#sent.size,
      handled: this.#handled,
      retried: this.#retried,
      deadLettered: this.#deadLetters.length,
      lost: lostIds.size + extraLost,
    };
  }

  #missingOf(message: SentMessage): Missing[] {
    const outcomes = this.#outcomes.get(message.id);
    const missing: Missing[] = [];
    for (const handler of this.expectedHandlers(message)) {
      const service = handler.slice(0, handler.indexOf('/'));
      if (!outcomes?.has(handler) && !outcomes?.has(`${service}/*`))
        missing.push({ id: message.id, name: message.name, handler });
    }
    return missing;
  }

  #evaluate(id: string): void {
    const message = this.#sent.get(id);
    if (message === undefined) return;
    if (this.#missingOf(message).length === 0) this.#open.delete(id);
    else this.#open.add(id);
  }

  #outcome(id: string): Map<string, Outcome> {
    let outcomes = this.#outcomes.get(id);
    if (!outcomes) {
      outcomes = new Map();
      this.#outcomes.set(id, outcomes);
    }
    return outcomes;
  }
}
