import {
  countDeadLetters,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRetention,
  type DeadLetterStore,
  decodeDeadLetter,
  ErrorCode,
  encodeDeadLetter,
  expiredDeadLetters,
  selectDeadLetters,
  TransportError,
} from '@switchyard/core/transport';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { ConnectionManager } from './connection-manager.js';
import { replyCode, withChannel, wrap } from './ops-channel.js';

/** Options of {@link RabbitMqDeadLetterStore}. */
export interface RabbitMqDeadLetterStoreOptions {
  /** The transport's connection; the store opens its own channels on it and never closes it. */
  readonly connection: ConnectionManager;
  /** The durable queue holding the records, e.g. `switchyard.dead-letters.order-service`. */
  readonly queue: string;
  /** Bound on each operation, waiting for the connection and for the browse lock included. */
  readonly timeoutMs: number;
  /** Optional retention (see the class comment for when it applies). */
  readonly retention?: DeadLetterRetention;
}

/** A record read while browsing, with the deliveries that hold it (duplicates of one id included). */
interface Held {
  readonly record: DeadLetterRecord;
  readonly deliveries: ConsumeMessage[];
}

const LOCK_RETRY_MS = 50;
/** AMQP reply code of a refused exclusive consume: another browser holds the queue. */
const ACCESS_REFUSED = 403;

/**
 * Dead letters of one service in a durable classic queue on the broker (one persistent message
 * per record: the record as JSON, original body in base64; `messageId` is the record id, `type`
 * the message name, so the management UI shows them too).
 *
 * - `add` publishes on a confirm channel and resolves once the broker confirmed it (persisted).
 *   It is idempotent on the record id: a repeated add may store a second copy, which reads
 *   ignore (first copy wins) and `delete` removes with the first.
 * - Reads and deletes browse the queue: an exclusive consumer (the lock: one browser per queue
 *   across every process; others wait up to `timeoutMs`) takes every message without acking,
 *   `delete` acks the copies of its id, and closing the channel puts all the others back. A
 *   crash while browsing puts them back too. Each read moves every record over the wire, so it
 *   costs O(records): a few thousand records read in tens of milliseconds, 100,000 in seconds
 *   (and as much client memory). Keep the queue small (replay or delete, or use retention).
 * - Retention: `maxAgeMs` sets each record's message expiration at `add` (the broker drops it
 *   once expired, nothing earlier); `maxCount` is enforced on each browse (the oldest beyond the
 *   count are acked away).
 * - Messages that are not records (published by hand) are left in place and not listed.
 * - `close` marks the store closed (later calls reject with SY_CLOSED); the connection stays.
 */
export class RabbitMqDeadLetterStore implements DeadLetterStore {
  readonly #options: RabbitMqDeadLetterStoreOptions;
  #closed = false;

  constructor(options: RabbitMqDeadLetterStoreOptions) {
    this.#options = options;
  }

  /** The queue holding the records. */
  get queue(): string {
    return this.#options.queue;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    this.#assertOpen();
    const { queue, retention } = this.#options;
    try {
      await withChannel(this.#options.connection, this.#options.timeoutMs, 'store a dead letter', async (channel) => {
        await this.#declare(channel);
        channel.sendToQueue(queue, Buffer.from(encodeDeadLetter(record)), {
          persistent: true,
          messageId: record.id,
          type: record.messageName,
          timestamp: Math.floor(Date.parse(record.deadLetteredAt) / 1000),
          contentType: 'application/json',
          ...(retention?.maxAgeMs !== undefined ? { expiration: String(expiryOf(record, retention.maxAgeMs)) } : {}),
        });
        await channel.waitForConfirms();
      });
    } catch (error) {
      throw wrap(ErrorCode.SendFailed, `cannot store dead letter '${record.id}' in queue '${queue}'`, error);
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    return this.#browse('list dead letters', (held) => selectDeadLetters(records(held), filter));
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    return this.#browse('count dead letters', (held) => countDeadLetters(records(held), filter));
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    return this.#browse('read a dead letter', (held) => held.get(id)?.record);
  }

  async delete(id: string): Promise<boolean> {
    return this.#browse('delete a dead letter', (held, channel) => {
      const found = held.get(id);
      if (!found) return false;
      for (const delivery of found.deliveries) channel.ack(delivery);
      return true;
    });
  }

  /** Idempotent; the connection is the transport's and stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * Take every message of the queue under the exclusive-consumer lock, run `work` on the
   * records, then close the channel: what was not acked goes back to the queue.
   */
  async #browse<T>(what: string, work: (held: Map<string, Held>, channel: Channel) => T): Promise<T> {
    this.#assertOpen();
    const deadline = Date.now() + this.#options.timeoutMs;
    for (;;) {
      try {
        return await withChannel(this.#options.connection, this.#options.timeoutMs, what, (channel) =>
          this.#browseOnce(channel, work),
        );
      } catch (error) {
        // Another process browses right now (its exclusive consumer refuses ours): wait our turn.
        const locked =
          replyCode((error as { cause?: unknown }).cause) === ACCESS_REFUSED || replyCode(error) === ACCESS_REFUSED;
        if (!locked || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    }
  }

  async #browseOnce<T>(channel: Channel, work: (held: Map<string, Held>, channel: Channel) => T): Promise<T> {
    const { queue } = this.#options;
    await this.#declare(channel);
    await channel.prefetch(0);
    const held = new Map<string, Held>();
    const closed = new Promise<never>((_, reject) => {
      channel.once('close', () => reject(new TransportError(ErrorCode.TransportUnavailable, 'channel closed')));
    });
    closed.catch(() => undefined);
    await channel.consume(
      queue,
      (delivery) => {
        if (delivery === null) return;
        let record: DeadLetterRecord | undefined;
        try {
          record = decodeDeadLetter(delivery.content);
        } catch {
          // Not a record: left in place.
        }
        if (!record) return;
        const existing = held.get(record.id);
        if (existing) existing.deliveries.push(delivery);
        else held.set(record.id, { record, deliveries: [delivery] });
      },
      { exclusive: true, noAck: false },
    );
    // As the only consumer, without a prefetch limit, every ready message is pushed to us. The
    // queue reports none ready once it pushed them all, and deliveries it pushed before answering
    // arrive before the answer on the channel: then we hold everything the queue had.
    const deadline = Date.now() + this.#options.timeoutMs;
    for (;;) {
      const { messageCount } = await Promise.race([channel.checkQueue(queue), closed]);
      if (messageCount === 0) break;
      if (Date.now() > deadline) {
        throw new TransportError(
          ErrorCode.Timeout,
          `RabbitMQ: queue '${queue}' still had ${messageCount} dead letters to deliver after ${this.#options.timeoutMs} ms`,
        );
      }
    }
    this.#enforceCount(held, channel);
    return work(held, channel);
  }

  /** Ack away the oldest records beyond `retention.maxCount`. */
  #enforceCount(held: Map<string, Held>, channel: Channel): void {
    const maxCount = this.#options.retention?.maxCount;
    if (maxCount === undefined || held.size <= maxCount) return;
    for (const record of expiredDeadLetters(records(held), { maxCount }, Date.now())) {
      for (const delivery of held.get(record.id)?.deliveries ?? []) channel.ack(delivery);
      held.delete(record.id);
    }
  }

  async #declare(channel: Channel): Promise<void> {
    await channel.assertQueue(this.#options.queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'the RabbitMQ dead-letter store is closed');
  }
}

function records(held: Map<string, Held>): DeadLetterRecord[] {
  return [...held.values()].map((entry) => entry.record);
}

/** Ms until `record` is older than `maxAgeMs`, at least 1 (0 would drop it at once). */
function expiryOf(record: DeadLetterRecord, maxAgeMs: number): number {
  return Math.max(1, Date.parse(record.deadLetteredAt) + maxAgeMs - Date.now());
}
