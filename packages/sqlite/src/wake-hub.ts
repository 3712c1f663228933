import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Wake-up hints for idle consumers, so that they need not poll fast:
 * - within the process, a committed send or publish wakes the consumers of
 *   its channels at once;
 * - across processes, a change of the database's `-wal` file (inotify via
 *   `fs.watch`) wakes every consumer of this transport.
 * Hints only: consumers still poll with backoff, so a missed hint (or a file
 * system without change events) only adds latency, never loses a message.
 */
export class WakeHub {
  readonly #waiters = new Map<string, Set<() => void>>();
  #watcher: FSWatcher | undefined;

  /** Register `wake` for `channel`; the returned function unregisters it. */
  listen(channel: string, wake: () => void): () => void {
    let set = this.#waiters.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(channel, set);
    }
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0 && this.#waiters.get(channel) === set) this.#waiters.delete(channel);
    };
  }

  /** Wake the consumers of `channel` in this process. */
  notify(channel: string): void {
    const set = this.#waiters.get(channel);
    if (set !== undefined) for (const wake of set) wake();
  }

  /** Wake every consumer in this process. */
  notifyAll(): void {
    for (const set of this.#waiters.values()) for (const wake of set) wake();
  }

  /** Start watching `dbPath`'s WAL file for writes by other processes; idempotent, silent where unsupported. */
  watchWal(dbPath: string): void {
    if (this.#watcher !== undefined) return;
    const wal = `${basename(dbPath)}-wal`;
    try {
      // The directory, not the file: the WAL file may not exist yet, or be recreated.
      this.#watcher = watch(dirname(dbPath), { persistent: false }, (_event, name) => {
        if (name === wal) this.notifyAll();
      });
      this.#watcher.on('error', () => this.stopWatching());
    } catch {
      this.#watcher = undefined;
    }
  }

  /** Stop the WAL watch. Idempotent. */
  stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
