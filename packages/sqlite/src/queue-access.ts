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
  readonly key: string | null;
}

/**
 * What a transport's consumers use: claims in their own `BEGIN IMMEDIATE`
 * transaction, and settles through the transport's group commit. Acks of one
 * event-loop turn become one write op (one loop of deletes), not one op each.
 * One instance per transport, shared by its consumers.
 */
export class TransportQueueAccess implements QueueAccess {
  readonly leaseMs: number;
  readonly minPollMs: number;
  readonly maxPollMs: number;
  readonly onError: ResolvedOptions['onError'];
  readonly #connect: () => { db: SqliteDatabase; table: MessageTable };
  readonly #batcher: WriteBatcher;
  readonly #hub: WakeHub;
  #acks: PendingAck[] = [];
  #ackCommit: Promise<void> | undefined;

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
  }

  listen(channel: string, wake: () => void): () => void {
    return this.#hub.listen(channel, wake);
  }

  flush(): Promise<void> {
    return this.#batcher.drain();
  }

  claim(channel: string, limit: number, owner: string): ClaimedRow[] | 'busy' {
    const { db, table } = this.#connect();
    try {
      const now = Date.now();
      // Idle consumers are woken by every write to the file; a read (no write lock) spares the
      // other processes a write transaction per wake-up when there is nothing to claim.
      if (!table.hasVisible(channel, now)) return [];
      return db.transaction(() => table.claim(channel, limit, owner, now, now + this.leaseMs)).immediate();
    } catch (error) {
      if (isBusy(error)) return 'busy';
      throw new TransportError(ErrorCode.TransportUnavailable, `claim from channel '${channel}' failed`, {
        cause: error,
      });
    }
  }

  nextVisibleAt(channel: string): number | undefined {
    return this.#connect().table.nextVisibleAt(channel);
  }

  ack(seq: number, channel: string, key: string | null): Promise<void> {
    this.#acks.push({ seq, channel, key });
    if (this.#ackCommit !== undefined) return this.#ackCommit;
    let taken: PendingAck[] | undefined;
    const commit = this.#batcher.submit({
      run: () => {
        // Taken once: a retry of this op (after a failed group) deletes the same rows.
        if (taken === undefined) {
          taken = this.#acks;
          this.#acks = [];
          if (this.#ackCommit === commit) this.#ackCommit = undefined;
        }
        const { table } = this.#connect();
        for (const ack of taken) table.delete(ack.seq, ack.channel, ack.key);
      },
      code: ErrorCode.TransportUnavailable,
      what: 'ack failed',
    });
    this.#ackCommit = commit;
    // A commit that never ran (closed connection) must not capture later acks.
    commit.catch(() => {
      if (this.#ackCommit === commit) this.#ackCommit = undefined;
    });
    return commit;
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
