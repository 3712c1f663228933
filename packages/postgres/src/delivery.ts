import type { Delivery, NackOptions, TransportMessage } from '@switchyard/core/transport';

/** An already resolved settle, shared: what a write-behind ack returns. */
export const SETTLED: Promise<void> = Promise.resolve();

/** How a delivery settles: implemented by its consumer. */
export interface DeliverySink {
  settleAck(delivery: PostgresDelivery): Promise<void>;
  settleNack(delivery: PostgresDelivery, delayMs: number): Promise<void>;
}

/**
 * One claimed row handed to a handler. `ack` and `nack` follow the {@link Delivery} contract: the
 * first call wins and every later call of either returns the same promise; a settle that failed
 * may be tried again. A class rather than closures because one is made per message.
 */
export class PostgresDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly channel: string;
  readonly deliveryCount: number;
  /** Row id (`seq`, as the driver returns a bigint) and lease token of the claim. */
  readonly seq: string;
  readonly owner: string;
  /** Settled for good (acked, nacked, released, or abandoned to lease expiry). */
  settled = false;
  /** The handler returned. */
  handlerDone = false;
  /** Its handler slot was given back. */
  freed = false;
  readonly #sink: DeliverySink;
  #pending: Promise<void> | undefined;

  constructor(
    sink: DeliverySink,
    channel: string,
    seq: string,
    owner: string,
    deliveryCount: number,
    message: TransportMessage,
  ) {
    this.#sink = sink;
    this.channel = channel;
    this.seq = seq;
    this.owner = owner;
    this.deliveryCount = deliveryCount;
    this.message = message;
  }

  ack(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const work = this.#sink.settleAck(this);
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

/** Headers as stored by this transport; anything else (another writer's garbage) yields only its string values. */
export function parseHeaders(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  // JSON.parse defines keys such as "__proto__" as own data properties: safe as is when every value is a string.
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
