import type { Channel, Message } from 'amqplib';

/**
 * Coalesces the acks of one consumer channel: acks given during one turn of
 * the event loop go out together, the longest run of settled deliveries from
 * the oldest outstanding one as a single `basic.ack(multiple)`, the rest one
 * by one. Fewer frames for the broker to process, same meaning: a multiple
 * ack only ever covers deliveries that were acked here, because it stops at
 * the first outstanding delivery that was not.
 *
 * An ack is therefore written up to one event-loop turn after `ack` returns;
 * a crash in that window only means a redelivery. `flush` writes pending acks
 * at once (before the channel is closed on purpose). When the channel dies,
 * pending acks are moot: the broker redelivers those messages anyway.
 */
export class AckBatcher {
  readonly #channel: Channel;
  /** Delivery tags the broker considers unsettled on this channel, ascending (tags only grow). */
  readonly #outstanding = new Set<number>();
  readonly #acked = new Set<number>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Note a new delivery; call in delivery order. */
  delivered(tag: number): void {
    this.#outstanding.add(tag);
  }

  /** Ack `tag` with the next flush. Throws only if the channel is closed (then the ack is moot). */
  ack(tag: number): void {
    this.#acked.add(tag);
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Settle `tag` some other way (nack, reject) now; it leaves the outstanding set. */
  settledElsewhere(tag: number): void {
    this.#outstanding.delete(tag);
  }

  /** Write every pending ack now. */
  flush(): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#acked.size === 0) return;
    let upTo = -1;
    for (const tag of this.#outstanding) {
      if (!this.#acked.has(tag)) break;
      upTo = tag;
    }
    try {
      if (upTo >= 0) {
        this.#channel.ack(tagged(upTo), true);
        for (const tag of this.#outstanding) {
          if (tag > upTo) break;
          this.#outstanding.delete(tag);
          this.#acked.delete(tag);
        }
      }
      for (const tag of this.#acked) {
        this.#channel.ack(tagged(tag), false);
        this.#outstanding.delete(tag);
      }
    } catch {
      // The channel closed: the broker requeues everything unacked on it.
    }
    this.#acked.clear();
  }
}

function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
