/**
 * The sleep of a claiming consumer's fetch loop: `sleep(ms)` resolves after `ms`, or at once or
 * earlier on a `wake` (a notification, a settle, a full claim), and at once for good after `stop`.
 * A wake while nobody sleeps is kept for the next `sleep`.
 */
export class FetchWaker {
  #woken = false;
  #stopped = false;
  #sleeper: (() => void) | undefined;

  wake(): void {
    this.#woken = true;
    this.#sleeper?.();
  }

  /** Every later (and the current) sleep resolves at once. */
  stop(): void {
    this.#stopped = true;
    this.wake();
  }

  /** Resolves true when woken (or stopped), false when `ms` passed. */
  sleep(ms: number): Promise<boolean> {
    if (this.#woken || this.#stopped) {
      this.#woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        this.#sleeper = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.#sleeper = () => {
        this.#woken = false;
        finish(true);
      };
    });
  }
}
