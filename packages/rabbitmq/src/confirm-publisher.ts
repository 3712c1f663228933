import { describeError, ErrorCode, TransportError } from '@switchyard/core/transport';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { type ConnectionManager, closeWithin } from './connection-manager.js';
import { DeadlineWatch, type Watched } from './deadline-watch.js';
import { drained } from './ops-channel.js';

/** One message to publish. `options.messageId` identifies it in a basic.return. */
export interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly options: Options.Publish;
}

/** A confirm channel and what it saw returned (mandatory messages no queue took). */
interface PublishChannel {
  readonly channel: ConfirmChannel;
  readonly returned: Set<string>;
  open: boolean;
  /** Set when the broker closed the channel for a fault of ours (e.g. a missing exchange), not a lost connection. */
  fault?: unknown;
}

enum Outcome {
  Pending,
  Confirmed,
  Returned,
  Nacked,
  Lost,
}

/**
 * Publishes batches on one shared ConfirmChannel and resolves only after the
 * broker confirmed every message (publisher confirms, one callback per
 * message, so a whole batch costs one wait).
 *
 * - A broker nack rejects with `SY_SEND_FAILED`.
 * - A channel or connection lost before the confirm: the unconfirmed messages
 *   are published again on the next connection (they may then be stored
 *   twice; core's inbox drops the duplicate). If no connection comes back
 *   within `timeoutMs` of the call, it rejects with `SY_SEND_FAILED`.
 * - No confirm within `timeoutMs` of the call on a live connection (a paused
 *   broker, a stalled network, a resource alarm): rejects with `SY_TIMEOUT`;
 *   they may still be stored.
 * - Mandatory messages that no queue took are confirmed by RabbitMQ but
 *   returned first; they are handed back to the caller, never dropped.
 *
 * Thread safety: concurrent calls interleave on the channel; each call waits
 * only for its own confirms.
 */
export class ConfirmPublisher {
  readonly #connection: ConnectionManager;
  readonly #timeoutMs: number;
  readonly #repair: ((fault: unknown) => Promise<boolean>) | undefined;
  #current: Promise<PublishChannel> | undefined;
  /** What `#current` resolved to, while that channel is open. */
  #ready: PublishChannel | undefined;
  #closed = false;
  readonly #deadlines = new DeadlineWatch();

  /**
   * `repair` is offered a channel-level fault (e.g. 404: the exchange was
   * deleted); when it resolves true, the messages the fault cost are
   * published once more, since the broker discarded them unrouted.
   */
  constructor(connection: ConnectionManager, timeoutMs: number, repair?: (fault: unknown) => Promise<boolean>) {
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
    this.#repair = repair;
  }

  /**
   * Publish `items` in order; resolves with the mandatory ones that were returned unroutable.
   * Never throws synchronously: every failure is a rejection.
   */
  publish(items: readonly Outgoing[]): Promise<Outgoing[]> {
    const target = this.#ready;
    // One message on the open channel (nearly every send): no await of the channel, no outcome table.
    if (items.length === 1 && target?.open === true && target.fault === undefined && !this.#closed) {
      return this.#publishOne(target, items[0] as Outgoing);
    }
    return this.#publishMany(items, Date.now() + this.#timeoutMs);
  }

  #publishOne(target: PublishChannel, item: Outgoing): Promise<Outgoing[]> {
    const deadline = Date.now() + this.#timeoutMs;
    return new Promise<Outgoing[]>((resolve, reject) => {
      const waiting = new OneConfirm(deadline, reject);
      try {
        target.channel.publish(item.exchange, item.routingKey, item.body, item.options, (error: unknown) => {
          if (waiting.done) return;
          waiting.done = true;
          if (error === null || error === undefined) {
            // RabbitMQ sends basic.return before the ack of an unroutable mandatory message.
            const id = item.options.messageId;
            resolve(item.options.mandatory && id !== undefined && target.returned.delete(id) ? [item] : NONE);
          } else if (isNack(error)) reject(nacked());
          else resolve(this.#publishMany([item], deadline, target));
        });
      } catch {
        waiting.done = true;
        resolve(this.#publishMany([item], deadline, target));
        return;
      }
      this.#deadlines.add(waiting);
    });
  }

  /**
   * The general path: waits for a channel, publishes, and publishes again what
   * a lost channel cost. `lostOn`: every item was already lost on that channel.
   */
  async #publishMany(items: readonly Outgoing[], deadline: number, lostOn?: PublishChannel): Promise<Outgoing[]> {
    let pending = items;
    const returned: Outgoing[] = [];
    let lastError: unknown;
    let repaired = false;
    let target = lostOn;
    let lost: Outgoing[] | undefined = lostOn ? [...items] : undefined;
    for (;;) {
      if (lost === undefined || target === undefined) {
        try {
          target = await this.#channel(deadline);
        } catch (error) {
          // The channel being opened may have been shared with a caller whose deadline came first.
          if (Date.now() < deadline && !this.#closed && !this.#connection.closed) continue;
          throw sendFailed(pending.length, error instanceof TransportError ? error : (lastError ?? error));
        }
        const outcomes = await publishOnce(target, pending, deadline, this.#deadlines);
        lost = [];
        for (let i = 0; i < pending.length; i++) {
          const outcome = outcomes[i];
          if (outcome === Outcome.Nacked) throw nacked();
          if (outcome === Outcome.Returned) returned.push(pending[i] as Outgoing);
          else if (outcome === Outcome.Lost) lost.push(pending[i] as Outgoing);
        }
        if (lost.length === 0) return returned;
      }
      // A channel-level fault would repeat on every attempt; only a lost connection is worth waiting out.
      if (target.fault !== undefined) {
        if (repaired || !this.#repair || !(await this.#repair(target.fault).catch(() => false))) {
          throw sendFailed(lost.length, target.fault);
        }
        repaired = true;
        pending = lost;
        lost = undefined;
        continue;
      }
      lastError = new Error('the channel closed before RabbitMQ confirmed');
      if (this.#closed || this.#connection.closed || Date.now() >= deadline) throw sendFailed(lost.length, lastError);
      pending = lost;
      lost = undefined;
    }
  }

  /** Close the channel; unconfirmed publishes of running calls then fail or are retried as above. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = undefined;
    this.#deadlines.clear();
    const current = this.#current;
    this.#current = undefined;
    if (!current) return;
    const target = await current.catch(() => undefined);
    if (target?.open) await closeWithin(target.channel.close());
  }

  #channel(deadline: number): Promise<PublishChannel> {
    if (this.#closed) return Promise.reject(new TransportError(ErrorCode.Closed, 'the RabbitMQ publisher is closed'));
    this.#current ??= this.#open(deadline).catch((error: unknown) => {
      this.#current = undefined;
      throw error;
    });
    return this.#current;
  }

  async #open(deadline: number): Promise<PublishChannel> {
    for (;;) {
      const live = await this.#connection.get(Math.max(1, deadline - Date.now()));
      try {
        const channel = await live.model.createConfirmChannel();
        const target: PublishChannel = { channel, returned: new Set(), open: true };
        const self = this.#current;
        channel.on('error', (error: unknown) => {
          target.fault = error;
        });
        channel.on('return', (message: Message) => {
          const id: unknown = message.properties.messageId;
          if (typeof id === 'string') target.returned.add(id);
        });
        channel.on('close', () => {
          target.open = false;
          if (this.#current === self) this.#current = undefined;
          if (this.#ready === target) this.#ready = undefined;
        });
        if (!this.#closed) this.#ready = target;
        return target;
      } catch (error) {
        // The connection died between `get` and the channel (the next `get` waits for the reconnect),
        // or the broker refused a channel: pause, so a refusal does not become a busy loop.
        if (Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}

async function publishOnce(
  target: PublishChannel,
  items: readonly Outgoing[],
  deadline: number,
  deadlines: DeadlineWatch,
): Promise<Outcome[]> {
  const outcomes = new Array<Outcome>(items.length).fill(Outcome.Pending);
  let remaining = items.length;
  let finish!: (expired: boolean) => void;
  const done = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  const settle = (index: number, outcome: Outcome): void => {
    if (outcomes[index] !== Outcome.Pending) return;
    outcomes[index] = outcome;
    if (--remaining === 0) finish(false);
  };
  const { channel, returned } = target;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Outgoing;
    if (!target.open) {
      settle(i, Outcome.Lost);
      continue;
    }
    let writable = true;
    try {
      writable = channel.publish(item.exchange, item.routingKey, item.body, item.options, (error: unknown) => {
        if (error === null || error === undefined) {
          // RabbitMQ sends basic.return before the ack of an unroutable mandatory message.
          const id = item.options.messageId;
          settle(
            i,
            item.options.mandatory && id !== undefined && returned.delete(id) ? Outcome.Returned : Outcome.Confirmed,
          );
        } else {
          settle(i, isNack(error) ? Outcome.Nacked : Outcome.Lost);
        }
      });
    } catch {
      settle(i, Outcome.Lost);
      continue;
    }
    if (!writable && target.open) await drained(channel);
  }
  if (remaining > 0) {
    // A blocked broker (resource alarm) may hold confirms indefinitely; the caller must hear about it.
    // One shared timer watches every call's deadline (a timer per send cost more than the wait itself).
    const unwatch = deadlines.watch(deadline, () => finish(true));
    const expired = await done;
    unwatch();
    if (expired && remaining > 0) throw noConfirm(remaining);
  }
  return outcomes;
}

const NONE: Outgoing[] = [];

/** A single publish waiting for its confirm; the deadline watch expires it. */
class OneConfirm implements Watched {
  done = false;
  readonly deadline: number;
  readonly #reject: (error: unknown) => void;

  constructor(deadline: number, reject: (error: unknown) => void) {
    this.deadline = deadline;
    this.#reject = reject;
  }

  expire(): void {
    this.#reject(noConfirm(1));
  }
}

function nacked(): TransportError {
  return new TransportError(ErrorCode.SendFailed, 'RabbitMQ refused (nacked) a message; it may not have been stored');
}

function noConfirm(count: number): TransportError {
  return new TransportError(
    ErrorCode.Timeout,
    `RabbitMQ sent no confirm for ${count} message(s) within the send timeout (a paused broker, a stalled network, or a connection blocked by an alarm); they may still be stored`,
  );
}

function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked';
}

function sendFailed(count: number, cause: unknown): TransportError {
  return new TransportError(
    ErrorCode.SendFailed,
    `RabbitMQ did not confirm ${count} message(s); they may not have been stored: ${describeError(cause)}`,
    { cause },
  );
}
