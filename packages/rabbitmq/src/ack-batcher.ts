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
  /** Delivery tags in delivery order (tags only grow); `#head` is the oldest not yet written or skipped. */
  #tags: number[] = [];
  #head = 0;
  /** Acked, not yet written. */
  readonly #acked = new Set<number>();
  /** Settled otherwise, or acked one by one already: the broker no longer counts them as outstanding. */
  readonly #gone = new Set<number>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Note a new delivery; call in delivery order. */
  delivered(tag: number): void {
    this.#tags.push(tag);
  }

  /** Ack `tag` with the next flush. */
  ack(tag: number): void {
    this.#acked.add(tag);
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** `tag` was settled some other way (nack, reject), already written. */
  settledElsewhere(tag: number): void {
    this.#gone.add(tag);
  }

  /** Write every pending ack now. */
  flush(): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#acked.size === 0) return;
    const tags = this.#tags;
    let upTo = -1;
    let head = this.#head;
    for (; head < tags.length; head++) {
      const tag = tags[head] as number;
      if (this.#acked.delete(tag)) upTo = tag;
      else if (!this.#gone.delete(tag)) break;
    }
    this.#head = head;
    try {
      if (upTo >= 0) this.#channel.ack(tagged(upTo), true);
      for (const tag of this.#acked) {
        this.#channel.ack(tagged(tag), false);
        this.#gone.add(tag);
      }
    } catch {
      // The channel closed: the broker requeues everything unacked on it.
    }
    this.#acked.clear();
    if (head > 1_024 && head * 2 > tags.length) {
      this.#tags = tags.slice(head);
      this.#head = 0;
    }
  }
}

function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
