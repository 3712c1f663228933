import type { Delivery, NackOptions, TransportMessage } from './types.js';

/** An already resolved settle, shared: what a write-behind ack returns. */
export const SETTLED: Promise<void> = Promise.resolve();

/** How a {@link ClaimedDelivery} settles: implemented by the consumer that claimed it. */
export interface ClaimSink<TSeq> {
  /** Ack: return {@link SETTLED} itself for a write-behind ack that cannot fail here. */
  settleAck(delivery: ClaimedDelivery<TSeq>): Promise<void>;
  settleNack(delivery: ClaimedDelivery<TSeq>, delayMs: number): Promise<void>;
}

/**
 * One row that a claiming consumer (a table-backed queue: SQLite, PostgreSQL) leased and hands to
 * a handler. `ack` and `nack` follow the {@link Delivery} contract: the first call wins and every
 * later call of either returns the same promise; a settle that failed may be tried again. A class
 * rather than closures because one is made per message on the hot path.
 *
 * Not {@link settleOnce}, which keeps the same rule with two closures and a wrapper promise per
 * message: here a write-behind ack returns the one shared {@link SETTLED} promise without any
 * wrapper, and the consumer reads `settled`/`handlerDone`/`freed` on the same object to free the
 * handler slot (see {@link HandlerSlots}) and stop renewing the lease.
 */
export class ClaimedDelivery<TSeq> implements Delivery {
  readonly message: TransportMessage;
  readonly channel: string;
  readonly deliveryCount: number;
  /** Row id and lease token of the claim. */
  readonly seq: TSeq;
  readonly owner: string;
  readonly key: string | null;
  /** Settled for good (acked, nacked, released, or abandoned to lease expiry). */
  settled = false;
  /** The handler returned. */
  handlerDone = false;
  /** Its handler slot was given back. */
  freed = false;
  readonly #sink: ClaimSink<TSeq>;
  #pending: Promise<void> | undefined;

  constructor(
    sink: ClaimSink<TSeq>,
    channel: string,
    seq: TSeq,
    owner: string,
    key: string | null,
    deliveryCount: number,
    message: TransportMessage,
  ) {
    this.#sink = sink;
    this.channel = channel;
    this.seq = seq;
    this.owner = owner;
    this.key = key;
    this.deliveryCount = deliveryCount;
    this.message = message;
  }

  ack(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const work = this.#sink.settleAck(this);
    // A write-behind ack cannot fail here: no wrapper promise needed (one fewer per message).
    if (work === SETTLED) {
      this.#pending = work;
      return work;
    }
    return this.#settle(work);
  }

  nack(options?: NackOptions): Promise<void> {
    return this.#pending ?? this.#settle(this.#sink.settleNack(this, Math.max(0, options?.delayMs ?? 0)));
  }

  #settle(work: Promise<void>): Promise<void> {
    const pending = work.catch((error: unknown) => {
      if (this.#pending === pending) this.#pending = undefined;
      throw error;
    });
    this.#pending = pending;
    return pending;
  }
}

/**
 * Headers stored as a JSON object of strings (as a table-backed transport writes them); anything
 * else (another writer's garbage) yields only its string values, or no headers at all, so that
 * core's decode dead-letters the message with its reason instead of the consumer failing.
 */
export function parseStoredHeaders(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  // JSON.parse defines keys such as "__proto__" as own data properties, so the object is safe
  // as is when every value is a string.
  const record = parsed as Record<string, unknown>;
  for (const name in record) {
    if (typeof record[name] !== 'string') {
      return Object.fromEntries(Object.entries(record).filter(([, value]) => typeof value === 'string')) as Record<
        string,
        string
      >;
    }
  }
  return record as Record<string, string>;
}
