import type { OutboundMessage } from '../message/outbound.js';
import type { TransportMessage } from '../transport/types.js';

/**
 * Store interfaces for the persistent reliability parts. Core ships in-memory
 * implementations; durable ones live in the transport packages
 * (@switchyard/sqlite: dead letter, inbox, outbox). Every method may be
 * called concurrently; implementations that share a
 * database between processes document how they stay consistent.
 */

/** Why a message was dead-lettered. `code` is a Switchyard error code or a handler error's name. */
export interface DeadLetterReason {
  readonly code: string;
  readonly message: string;
  readonly stack?: string;
}

/** A dead-lettered message with everything needed to understand and replay it. */
export interface DeadLetterRecord {
  /**
   * Id of this record, not of the message: a UUID derived from service, message id, handler,
   * attempt and error code, so that the same failure recorded twice is one record.
   */
  readonly id: string;
  readonly messageId: string;
  readonly messageName: string;
  /** Service that failed to handle it. */
  readonly service: string;
  /** Handler that failed, when one was chosen; absent for undecodable or unroutable input. */
  readonly handler?: string;
  /** Channel it was consumed from. */
  readonly channel: string;
  readonly reason: DeadLetterReason;
  /** Delivery attempts made, the last one included. */
  readonly attempts: number;
  /** ISO time of the message's first handling (its `time` header when unknown). */
  readonly firstAttemptAt: string;
  /** ISO time it was dead-lettered. */
  readonly deadLetteredAt: string;
  /** The message exactly as received, so that a replay sends the same bytes. */
  readonly message: TransportMessage;
}

/** Filter for {@link DeadLetterStore.list}; every given field must match. */
export interface DeadLetterFilter {
  readonly service?: string;
  readonly handler?: string;
  readonly messageName?: string;
  /** Dead-lettered at or after this time. */
  readonly since?: Date;
  /** Dead-lettered before this time. */
  readonly until?: Date;
  /** Only records whose `reason.code` is this (e.g. `SY_VALIDATION`, `SY_NO_HANDLER`, a handler error's name). */
  readonly code?: string;
  /** Only records whose `reason.message` contains this text (case-insensitive). */
  readonly search?: string;
  /** Skip this many matching records first (paging; default 0). Ignored by `count`. */
  readonly offset?: number;
  /** At most this many records, oldest first (default 1,000). Ignored by `count`. */
  readonly limit?: number;
}

/** Where messages that cannot be handled are kept until a person looks at them. */
export interface DeadLetterStore {
  /** Store a record. Idempotent on `record.id`. Rejects if it could not be stored durably. */
  add(record: DeadLetterRecord): Promise<void>;
  /** Records matching `filter`, oldest first, from `offset`, at most `limit`. */
  list(filter?: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  /** How many records match `filter` (its `offset` and `limit` are ignored). */
  count(filter?: DeadLetterFilter): Promise<number>;
  get(id: string): Promise<DeadLetterRecord | undefined>;
  /** Remove a record; false if there was none. */
  delete(id: string): Promise<boolean>;
  /** Release connections. Idempotent. */
  close?(): Promise<void>;
}

/**
 * The inbox: remembers which handler has processed which message, so that a
 * redelivery (at-least-once) runs a handler's side effects only once.
 */
export interface InboxStore {
  /**
   * True when `handler` already processed `messageId` successfully. May answer
   * synchronously (in-memory stores do, to keep the hot path free of promises).
   */
  isProcessed(handler: string, messageId: string): boolean | Promise<boolean>;
  /** Record a success. Idempotent. May complete synchronously. */
  markProcessed(handler: string, messageId: string): void | Promise<void>;
  /** Forget records older than `olderThanMs`; resolves with how many were removed. */
  prune(olderThanMs: number): Promise<number>;
  /**
   * Optional, the transactional inbox (handlers registered with
   * `transactionalInbox: true`): open one transaction of the store's database,
   * run `work` with that transaction's handle (e.g. the better-sqlite3 Database
   * for SQLite, a pg client inside BEGIN for PostgreSQL), record that `handler`
   * processed `messageId`, and commit both together. Resolves true after the
   * commit; false, without running `work`, when the record already exists. If
   * `work` rejects, or the process dies before the commit, neither the
   * handler's writes nor the record persist, so a redelivery runs it again and a
   * committed side effect never repeats. Stores may run such transactions one
   * at a time.
   */
  processInTransaction?(
    handler: string,
    messageId: string,
    work: (transaction: unknown) => unknown | Promise<unknown>,
  ): Promise<boolean>;
  close?(): Promise<void>;
}

/** A message stored in an outbox, waiting to be forwarded. */
export interface OutboxRecord {
  /** Store-assigned id, unique within the store. */
  readonly id: string;
  readonly outbound: OutboundMessage;
}

/**
 * The read side of an outbox, used by core's relay. The write side is the
 * store's own API, because it must share the application's transaction.
 */
export interface OutboxStore {
  /** Up to `limit` records not yet forwarded, oldest first. */
  pending(limit: number): Promise<OutboxRecord[]>;
  /** Remove forwarded records. Idempotent. */
  markForwarded(ids: readonly string[]): Promise<void>;
  /** Resolves when new records may be waiting, or when `signal` aborts; optional (the relay polls otherwise). */
  waitForRecords?(signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
