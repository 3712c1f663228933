import { withOwnBody } from '../message/utf8-bytes.js';
import type { TransportMessage } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { Deque } from './deque.js';

/** A message waiting in a channel, with how often it was delivered so far. */
export interface QueuedMessage {
  readonly message: TransportMessage;
  deliveries: number;
  /** A copy made by the `duplicate` fault; never duplicated again. */
  readonly copy?: true;
}

/** What a channel needs from a consumer attached to it. */
export interface ChannelConsumer {
  /** True when the consumer can take one more delivery now. */
  readonly hasRoom: boolean;
  /** Take one message from the channel and start handling it; false when none was ready. */
  pull(): boolean;
}

/**
 * One named queue of the in-memory broker. Ready messages wait in FIFO order;
 * messages with a future due time wait on the clock. Attached consumers
 * compete: each pump hands one message to each consumer with room, round
 * robin, until the queue or the room runs out. Pumping runs in a microtask, so
 * a burst of sends or acks costs one pass, not one timer per message.
 */
export class MemoryChannel {
  readonly name: string;
  readonly #clock: Clock;
  readonly #ready = new Deque<QueuedMessage>();
  readonly #consumers: ChannelConsumer[] = [];
  #delayed = 0;
  #inFlight = 0;
  #next = 0;
  #scheduled = false;
  readonly #pump = () => this.#run();

  constructor(name: string, clock: Clock) {
    this.name = name;
    this.#clock = clock;
  }

  /** Messages ready for delivery now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** Messages held until a future due time. */
  get delayed(): number {
    return this.#delayed;
  }

  /** Messages taken by a consumer and not settled yet (acked, nacked or taken back). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** A consumer settled or gave back one message it took. */
  settled(): void {
    this.#inFlight--;
  }

  /** Consumers attached now. */
  get consumers(): number {
    return this.#consumers.length;
  }

  /**
   * Add a message. With `at` in the future it is held until then (then appended
   * at the back); with `front` it goes before every ready message, which is
   * where a returned delivery belongs so that per-key order survives a nack.
   */
  enqueue(entry: QueuedMessage, front = false, at?: number): void {
    if (at !== undefined) {
      const wait = at - this.#clock.now();
      if (wait > 0) {
        this.#delayed++;
        // Held while the messages around it come and go: a body sliced from Node's Buffer pool would pin its slab.
        const message = withOwnBody(entry.message);
        const held = message === entry.message ? entry : { ...entry, message };
        this.#clock.schedule(wait, () => {
          this.#delayed--;
          this.enqueue(held);
        });
        return;
      }
    }
    if (front) this.#ready.unshift(entry);
    else this.#ready.push(entry);
    this.schedule();
  }

  /** Hold `entry` for `ms` on the broker's clock, then append it (a nack with delay). */
  enqueueAfter(entry: QueuedMessage, ms: number): void {
    this.enqueue(entry, false, this.#clock.now() + ms);
  }

  /**
   * Remove the next ready message, now in flight until the consumer calls {@link settled};
   * `pick` chooses among the first few (fault injection).
   */
  take(pick?: (length: number) => number): QueuedMessage | undefined {
    if (pick !== undefined && this.#ready.length > 1) {
      const index = pick(this.#ready.length);
      if (index > 0) this.#ready.swap(0, index);
    }
    const entry = this.#ready.shift();
    if (entry !== undefined) this.#inFlight++;
    return entry;
  }

  attach(consumer: ChannelConsumer): void {
    this.#consumers.push(consumer);
    this.schedule();
  }

  detach(consumer: ChannelConsumer): void {
    const index = this.#consumers.indexOf(consumer);
    if (index >= 0) this.#consumers.splice(index, 1);
  }

  /** Ask for a pump pass in a microtask; calls before it runs coalesce. */
  schedule(): void {
    if (this.#scheduled || this.#ready.length === 0 || this.#consumers.length === 0) return;
    this.#scheduled = true;
    queueMicrotask(this.#pump);
  }

  #run(): void {
    this.#scheduled = false;
    const consumers = this.#consumers;
    let progressed = true;
    while (progressed && this.#ready.length > 0 && consumers.length > 0) {
      progressed = false;
      const count = consumers.length;
      const start = this.#next % count;
      for (let n = 0; n < count && this.#ready.length > 0; n++) {
        const consumer = consumers[(start + n) % count];
        if (consumer?.hasRoom && consumer.pull()) progressed = true;
      }
      this.#next = start + 1;
    }
  }
}
