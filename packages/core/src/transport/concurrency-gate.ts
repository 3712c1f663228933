/**
 * A counting semaphore for transports: at most `limit` tasks run at once, and
 * `drain()` waits until none do. Not reentrant; not shared across processes.
 */
export class ConcurrencyGate {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #idle: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** True when a new task would start at once. */
  get hasRoom(): boolean {
    return this.#running < this.#limit;
  }

  /** Resolves when a slot is free and takes it; call `release` exactly once afterwards. */
  acquire(): Promise<void> {
    if (this.#running < this.#limit) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(() => resolve()));
  }

  /**
   * Take a slot now if one is free, without a promise; true when taken (then
   * call `release` exactly once), false when the gate is full.
   */
  tryAcquire(): boolean {
    if (this.#running >= this.#limit) return false;
    this.#running++;
    return true;
  }

  /** Give a slot back, handing it to the next waiter if any. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) {
      next();
      return;
    }
    this.#running--;
    if (this.#running === 0) for (const done of this.#idle.splice(0)) done();
  }

  /** Run `task` inside a slot. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Resolves when no task runs, or after `timeoutMs`; true if idle was reached. */
  drain(timeoutMs = 30_000): Promise<boolean> {
    if (this.#running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
