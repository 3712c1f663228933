/**
 * Counts the transport's running sends, so `close` can let them finish.
 * A counter instead of a set of their promises: tracking a promise cost a
 * `then` and two closures per send. Not thread-safe (one event loop).
 */
export class InFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  /** Sends running now. */
  get size(): number {
    return this.#count;
  }

  /** A send starts; pair with exactly one {@link end}. */
  begin(): void {
    this.#count++;
  }

  /** A send finished (either way). */
  end(): void {
    if (--this.#count > 0 || this.#waiters.length === 0) return;
    for (const resume of this.#waiters.splice(0)) resume();
  }

  /** Resolves once no send runs (at once if none does); never rejects. */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
