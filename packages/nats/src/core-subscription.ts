import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import {
  ConcurrencyGate,
  type Delivery,
  type DeliveryHandler,
  type Subscription,
  settleOnce,
} from '@switchyard/core/transport';
import { fromNats } from './codec.js';

/** What a {@link CoreSubscription} needs. */
export interface CoreSubscriptionParts {
  /** The endpoint as given (`core:<subject>`): the deliveries' channel. */
  readonly endpoint: string;
  readonly subject: string;
  /** Queue group: the instances of one consumer group share the subject's messages. */
  readonly group: string;
  readonly nc: NatsConnection;
  readonly handler: DeliveryHandler;
  readonly concurrency: number;
  readonly onClosed: () => void;
}

/**
 * A message consumer of a plain core-NATS subject (`core:<subject>`), in queue
 * group `group`. Core NATS keeps nothing, so this is **at most once**: a
 * message published while no member of the group is subscribed is never
 * seen, `ack` does nothing, and `nack` cannot give a message back — it is
 * dropped (core's own retries re-send a failed message to the service's
 * inbox, which is durable, so only a nack after a failed re-send or at close
 * loses one). Messages wait in the client until a handler slot is free
 * (`concurrency`); a consumer that falls far behind is cut off by the server
 * as a slow consumer. Ids: `ce-id`, else none (core gives the delivery a new one).
 */
export class CoreSubscription implements Subscription {
  readonly #parts: CoreSubscriptionParts;
  readonly #gate: ConcurrencyGate;
  readonly #subscription: NatsSubscription;
  #closing: Promise<void> | undefined;

  /** Subscribe; resolves once the server has the subscription, so what is published from then on reaches it. */
  static async open(parts: CoreSubscriptionParts): Promise<CoreSubscription> {
    const subscription = new CoreSubscription(parts);
    await parts.nc.flush();
    return subscription;
  }

  private constructor(parts: CoreSubscriptionParts) {
    this.#parts = parts;
    this.#gate = new ConcurrencyGate(parts.concurrency);
    this.#subscription = parts.nc.subscribe(parts.subject, { queue: parts.group });
    void this.#loop();
  }

  async #loop(): Promise<void> {
    for await (const msg of this.#subscription) {
      await this.#gate.acquire();
      void this.#handle(msg).finally(() => this.#gate.release());
    }
  }

  async #handle(msg: Msg): Promise<void> {
    const settle = settleOnce(
      async () => {},
      async () => {},
    );
    const delivery: Delivery = {
      message: fromNats(msg.headers, msg.data),
      channel: this.#parts.endpoint,
      deliveryCount: 1,
      ack: settle.ack,
      nack: settle.nack,
    };
    try {
      await this.#parts.handler(delivery);
    } catch {
      // Nothing to give back to: core NATS has no redelivery.
    }
  }

  close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#subscription.unsubscribe();
    await this.#gate.drain(drainTimeoutMs);
    this.#parts.onClosed();
  }
}
