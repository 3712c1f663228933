/**
 * Time as core and the in-memory transport see it. Production uses
 * {@link systemClock}; flow tests pass a controllable clock (see
 * `@switchyard/testing`'s `ManualClock`) to run delays and backoff instantly.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Run `callback` after `ms`; the returned function cancels it (idempotent). */
  schedule(ms: number, callback: () => void): () => void;
}

/** The real clock: `Date.now` and unref'd timers, so pending delays never keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(ms, callback) {
    const timer = setTimeout(callback, Math.max(0, ms));
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.schedule(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
