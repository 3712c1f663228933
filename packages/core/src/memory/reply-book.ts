import { ErrorCode, TransportError } from '../errors.js';
import type { ReplyChannelBook } from '../transport/booked-replies.js';
import type { TransportMessage } from '../transport/types.js';
import type { MemoryBroker } from './broker.js';

interface Entry {
  seenAt: number;
  expireAfterMs: number;
}

const books = new WeakMap<MemoryBroker, Map<string, Entry>>();

/**
 * The reply channels of one in-memory broker, shared by every transport
 * attached to it (as a broker's queues are shared by its clients). `touch`
 * rejects once `closed()` says the transport that asks is closed, so a
 * "crashed" transport's channel stops being refreshed and expires.
 */
export class MemoryReplyBook implements ReplyChannelBook {
  readonly #broker: MemoryBroker;
  readonly #entries: Map<string, Entry>;
  readonly #closed: () => boolean;

  constructor(broker: MemoryBroker, closed: () => boolean) {
    this.#broker = broker;
    this.#closed = closed;
    let entries = books.get(broker);
    if (entries === undefined) {
      entries = new Map();
      books.set(broker, entries);
    }
    this.#entries = entries;
  }

  async sweep(now: number): Promise<void> {
    for (const [channel, entry] of this.#entries) {
      if (now - entry.seenAt > entry.expireAfterMs) await this.remove(channel);
    }
  }

  async touch(channel: string, expireAfterMs: number, now: number): Promise<void> {
    if (this.#closed()) throw new TransportError(ErrorCode.Closed, 'memory transport is closed');
    this.#entries.set(channel, { seenAt: now, expireAfterMs });
  }

  async deliver(channel: string, message: TransportMessage): Promise<void> {
    if (this.#closed()) throw new TransportError(ErrorCode.Closed, 'memory transport is closed');
    if (this.#entries.has(channel)) this.#broker.send(channel, [message], false);
  }

  async remove(channel: string): Promise<void> {
    this.#entries.delete(channel);
    this.#broker.remove(channel);
  }
}
