import type { JsMsg } from '@nats-io/jetstream';
import type { Delivery, NackOptions, TransportMessage } from '@switchyard/core/transport';

const SETTLED: Promise<void> = Promise.resolve();

/**
 * One JetStream delivery handed to core: `ack` is `+ACK`, `nack` is `-NAK`
 * (with the delay when one is given), both published without waiting for a
 * reply. The first of them that succeeds is final and every later call of
 * either is a no-op; one that throws (the connection is closed) may be
 * called again. A class with its methods on the prototype, not closures per
 * delivery: this runs once per message.
 */
export class NatsDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly channel: string;
  readonly #msg: JsMsg;
  readonly #onSettled: () => void;
  #settled = false;

  /** `onSettled` runs once, after the ack or nack was handed to the client. */
  constructor(msg: JsMsg, message: TransportMessage, channel: string, onSettled: () => void) {
    this.#msg = msg;
    this.message = message;
    this.channel = channel;
    this.#onSettled = onSettled;
  }

  /** JetStream's delivery count, parsed from the reply subject only when read. */
  get deliveryCount(): number {
    return this.#msg.info.deliveryCount;
  }

  ack(): Promise<void> {
    if (this.#settled) return SETTLED;
    try {
      this.#msg.ack();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#done();
  }

  nack(options?: NackOptions): Promise<void> {
    if (this.#settled) return SETTLED;
    const delay = options?.delayMs;
    try {
      this.#msg.nak(delay !== undefined && delay > 0 ? delay : undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#done();
  }

  #done(): Promise<void> {
    this.#settled = true;
    this.#onSettled();
    return SETTLED;
  }
}
