import { ErrorCode, TransportError } from '@switchyard/core/transport';
import type { QueueAccess } from './consumer.js';
import { isBusy, type SqliteDatabase } from './database.js';
import type { ClaimedRow, MessageTable } from './message-table.js';
import type { ResolvedOptions } from './options.js';
import type { WakeHub } from './wake-hub.js';
import type { WriteBatcher } from './write-batcher.js';

interface PendingAck {
  readonly seq: number;
  readonly channel: string;
  readonly key: string;
}

/** Acks waiting for a transaction, and the promise of their commit. */
class AckBatch {
  /** Seqs of acked rows without a key: deleted in chunks. */
  readonly unkeyed: number[] = [];
  /** Acked rows with a key: each delete also releases the key's next row. */
  readonly keyed: PendingAck[] = [];
  readonly committed: Promise<void>;
  /** Handed to the group commit: acks still join it until its op runs. */
  submitted = false;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.committed = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Write-behind callers may drop the promise; its failure is reported by whoever awaits it.
    this.committed.catch(() => undefined);
  }

  add(seq: number, channel: string, key: string | null): void {
    if (key === null) this.unkeyed.push(seq);
    else this.keyed.push({ seq, channel, key });
  }

  /** Delete the acked rows; inside the caller's transaction. Idempotent: a retry deletes nothing more. */
  deleteFrom(table: MessageTable): void {
    table.deleteUnkeyed(this.unkeyed);
    for (const ack of this.keyed) table.delete(ack.seq, ack.channel, ack.key);
  }
}

/**
 * What a transport's consumers use. Claims run in a `BEGIN IMMEDIATE`
 * transaction that also commits the writes queued in the transport's group
 * commit, and the acks waiting for it: a busy consumer deletes the rows of one
 * batch in the transaction that claims the next, so it costs one transaction
 * per claim, as a hand-written loop would. Acks that no claim takes within the
 * next event-loop turn (idle channel, slow handlers, `durableAck`) commit
 * through the group commit on their own. One instance per transport, shared by
 * its consumers.
 */
export class TransportQueueAccess implements QueueAccess {
  readonly leaseMs: number;
  readonly minPollMs: number;
  readonly maxPollMs: number;
  readonly onError: ResolvedOptions['onError'];
  readonly #connect: () => { db: SqliteDatabase; table: MessageTable };
  readonly #batcher: WriteBatcher;
  readonly #hub: WakeHub;
  readonly #durableAck: boolean;
  /** Acks not yet handed to a transaction. */
  #batch: AckBatch | undefined;

  constructor(
    connect: () => { db: SqliteDatabase; table: MessageTable },
    batcher: WriteBatcher,
    hub: WakeHub,
    options: ResolvedOptions,
  ) {
    this.#connect = connect;
    this.#batcher = batcher;
    this.#hub = hub;
    this.leaseMs = options.leaseMs;
    this.minPollMs = options.minPollIntervalMs;
    this.maxPollMs = options.pollIntervalMs;
    this.onError = options.onError;
    this.#durableAck = options.durableAck;
  }

  listen(channel: string, wake: () => void): () => void {
    return this.#hub.listen(channel, wake);
  }

  flush(): Promise<void> {
    const batch = this.#batch;
    if (batch !== undefined && !batch.submitted) this.#submit(batch);
    return this.#batcher.drain();
  }

  claim(channel: string, limit: number, owner: string, probe: boolean): ClaimedRow[] | 'busy' {
    const { table } = this.#connect();
    const now = Date.now();
    let batch: AckBatch | undefined;
    try {
      // Idle consumers are woken by every write to the file; a read (no write lock) spares the
      // other processes a write transaction per wake-up when there is nothing to claim.
      if (probe && !table.hasVisible(channel, now)) return [];
      // A submitted batch is an op in the group commit's queue, which this transaction runs anyway.
      if (this.#batch !== undefined && !this.#batch.submitted) {
        batch = this.#batch;
        this.#batch = undefined;
      }
      const rows = this.#batcher.commitWith(() => {
        if (batch !== undefined) batch.deleteFrom(table);
        return table.claim(channel, limit, owner, now, now + this.leaseMs);
      });
      batch?.resolve();
      return rows;
    } catch (error) {
      // The acks did not commit: they go through the group commit, which retries them alone.
      if (batch !== undefined) this.#submit(batch);
      if (isBusy(error)) return 'busy';
      throw new TransportError(ErrorCode.TransportUnavailable, `claim from channel '${channel}' failed`, {
        cause: error,
      });
    }
  }

  nextVisibleAt(channel: string): number | undefined {
    return this.#connect().table.nextVisibleAt(channel);
  }

  /**
   * Queue the delete of an acked row; resolves once committed. Without
   * `durableAck` nobody needs to wait: a failed commit is reported through
   * `onError` (once per batch) and the row comes back after its lease.
   */
  ack(seq: number, channel: string, key: string | null): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      batch = new AckBatch();
      this.#batch = batch;
      const created = batch;
      if (this.#durableAck) this.#submit(created);
      // Left for the next claim unless none takes it by the next turn.
      else
        setImmediate(() => {
          if (this.#batch === created && !created.submitted) this.#submit(created);
        });
    }
    batch.add(seq, channel, key);
    return batch.committed;
  }

  /**
   * Hand `batch` to the group commit (once). Acks of the same turn keep joining
   * it until its op runs; later ones start a new batch.
   */
  #submit(batch: AckBatch): void {
    batch.submitted = true;
    this.#batcher
      .submit({
        run: () => {
          // Taken for good at its first run: a retry (after a failed group) deletes the same rows.
          if (this.#batch === batch) this.#batch = undefined;
          const { table } = this.#connect();
          batch.deleteFrom(table);
        },
        code: ErrorCode.TransportUnavailable,
        what: 'ack failed',
      })
      .then(batch.resolve, (error: unknown) => {
        // Its op may never have run (no connection, lock busy too long): later acks must not join it.
        if (this.#batch === batch) this.#batch = undefined;
        // Write-behind acks have no caller to reject: report once per batch.
        if (!this.#durableAck) this.onError(opError(error));
        batch.reject(error);
      });
  }

  release(seq: number, owner: string, visibleAt: number, unclaim?: boolean): Promise<void> {
    return this.#batcher.submit({
      run: () => {
        const { table } = this.#connect();
        if (unclaim) table.unclaim(seq, owner, visibleAt);
        else table.release(seq, owner, visibleAt);
      },
      code: ErrorCode.TransportUnavailable,
      what: 'nack failed',
    });
  }

  extend(leases: ReadonlyArray<readonly [seq: number, owner: string]>): Promise<void> {
    return this.#batcher.submit({
      run: () => {
        const until = Date.now() + this.leaseMs;
        const { table } = this.#connect();
        for (const [seq, owner] of leases) table.extend(seq, owner, until);
      },
      code: ErrorCode.TransportUnavailable,
      what: 'lease renewal failed',
    });
  }
}

function opError(error: unknown): TransportError {
  return error instanceof TransportError
    ? error
    : new TransportError(ErrorCode.TransportUnavailable, `ack failed: ${String(error)}`, { cause: error });
}
