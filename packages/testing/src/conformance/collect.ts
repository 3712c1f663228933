import type { ConsumeOptions, Delivery, Subscription, Transport } from '@switchyard/core/transport';
import { waitFor } from '../broker-gate.js';

/** One delivery as a {@link Collector} saw it. */
export interface Received {
  readonly delivery: Delivery;
  /** `Date.now()` when the handler was called. */
  readonly receivedAt: number;
}

/** How a {@link Collector} settles what it receives. */
export type SettleMode = 'ack' | 'none' | ((delivery: Delivery) => Promise<void> | void);

/** Options for {@link collect}: consume options plus how to settle. */
export interface CollectOptions extends ConsumeOptions {
  /**
   * `ack` (default): ack on receipt. `none`: leave the delivery unsettled (the
   * test settles it, or lets the consumer's close return it). A function: called
   * with each delivery after it is recorded; a rejection makes the transport nack.
   */
  readonly settle?: SettleMode;
}

/**
 * A running consumer that records every delivery, in arrival order, for tests
 * to wait on. Acks that reject (a dropped connection) are swallowed: the
 * message then comes back and is recorded again.
 */
export class Collector {
  readonly received: Received[] = [];
  #subscription: Subscription | undefined;

  /** @internal use {@link collect}. */
  attach(subscription: Subscription): void {
    this.#subscription = subscription;
  }

  /** Ids in arrival order, duplicates included. */
  get ids(): string[] {
    return this.received.map((entry) => entry.delivery.message.id);
  }

  /** Distinct ids received. */
  idSet(): Set<string> {
    return new Set(this.ids);
  }

  /** How many times `id` was received. */
  countOf(id: string): number {
    let count = 0;
    for (const entry of this.received) if (entry.delivery.message.id === id) count++;
    return count;
  }

  /** Deliveries of `id`, in arrival order. */
  deliveriesOf(id: string): Received[] {
    return this.received.filter((entry) => entry.delivery.message.id === id);
  }

  /** Resolves once at least `count` deliveries arrived. */
  waitForCount(count: number, timeoutMs = 20_000): Promise<void> {
    return waitFor(
      () => this.received.length >= count,
      () => `${count} deliveries (got ${this.received.length})`,
      timeoutMs,
    );
  }

  /** Resolves once every id in `ids` arrived at least once. */
  async waitForIds(ids: Iterable<string>, timeoutMs = 20_000): Promise<void> {
    const wanted = [...ids];
    const seen = new Set<string>();
    let checked = 0;
    const missing = () => wanted.filter((id) => !seen.has(id)).length;
    await waitFor(
      () => {
        for (; checked < this.received.length; checked++) seen.add(this.received[checked]!.delivery.message.id);
        return missing() === 0;
      },
      () => `all ${wanted.length} ids (missing ${missing()})`,
      timeoutMs,
    );
  }

  /** Close the subscription (idempotent). */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    return this.#subscription?.close(options) ?? Promise.resolve();
  }
}

/**
 * Consume `channel` on `transport` and record every delivery; acks on receipt
 * unless `options.settle` says otherwise. Resolves once the consumer is attached.
 *
 * ```ts
 * const inbox = await collect(transport, channel, { concurrency: 4 });
 * await transport.send(channel, messages);
 * await inbox.waitForIds(messages.map((m) => m.id));
 * ```
 */
export async function collect(transport: Transport, channel: string, options: CollectOptions = {}): Promise<Collector> {
  const collector = new Collector();
  const { settle = 'ack', ...consume } = options;
  const subscription = await transport.consume(
    channel,
    async (delivery) => {
      collector.received.push({ delivery, receivedAt: Date.now() });
      if (settle === 'ack') await delivery.ack().catch(() => undefined);
      else if (typeof settle === 'function') await settle(delivery);
    },
    consume,
  );
  collector.attach(subscription);
  return collector;
}
