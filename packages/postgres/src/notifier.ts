import type { TransportError } from '@switchyard/core/transport';
import type pg from 'pg';
import { wrap } from './queue-access.js';

/**
 * Wakes the consumers of other processes after this transport's inserts committed: one
 * `pg_notify` per channel on the wake-up channel, from a session that commits asynchronously,
 * outside the inserting transaction, so that the notification lock is never held through a
 * send's WAL flush. At most one statement is in flight; channels touched meanwhile go out in
 * the next one, which is always sent after the commits that touched them: no wake-up is lost,
 * and a burst of sends costs a few notifications instead of one per send. A failed notification
 * is reported through `onError`; consumers still poll, so it only adds latency.
 */
export class Notifier {
  readonly #pool: () => pg.Pool;
  readonly #channel: string;
  readonly #onError: (error: TransportError) => void;
  readonly #pending = new Set<string>();
  #running: Promise<void> | undefined;

  constructor(pool: () => pg.Pool, notifyChannel: string, onError: (error: TransportError) => void) {
    this.#pool = pool;
    this.#channel = notifyChannel;
    this.#onError = onError;
  }

  /** Notify `channels` (after the caller's commit). Never rejects. */
  notify(channels: Iterable<string>): void {
    for (const channel of channels) this.#pending.add(channel);
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once every queued notification went out (close). */
  async drain(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #run(): Promise<void> {
    while (this.#pending.size > 0) {
      const channels = [...this.#pending];
      this.#pending.clear();
      try {
        await this.#pool().query({
          name: 'sy_notify',
          text: `SELECT pg_notify($1, CASE WHEN octet_length(c) < 7000 THEN c ELSE '' END) FROM unnest($2::text[]) AS c`,
          values: [this.#channel, channels],
        });
      } catch (error) {
        this.#onError(
          wrap(error, 'wake-up notification failed; consumers elsewhere will find the messages by polling'),
        );
      }
    }
  }
}
