import type { Clock } from '@switchyard/core';

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A controllable clock for flow tests: time stands still until `advance`
 * moves it, firing every timer that falls due, in due order. Delays and retry
 * backoff then take no wall time at all.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(ms: number, callback: () => void): () => void {
    const timer: Timer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length;
  }

  /** Due time of the next timer, if any. */
  nextDue(): number | undefined {
    const live = this.#timers.filter((timer) => !timer.cancelled);
    return live.length === 0 ? undefined : Math.min(...live.map((timer) => timer.due));
  }

  /**
   * Move time forward by `ms`, firing due timers in order. Between timers it
   * yields to the event loop, so work a timer starts can schedule new timers
   * that still fall inside the window.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#takeNext(target);
      if (!next) break;
      this.#now = Math.max(this.#now, next.due);
      next.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#now = target;
  }

  /** Advance straight to the next timer and fire it; false when none is pending. */
  async fireNext(): Promise<boolean> {
    const due = this.nextDue();
    if (due === undefined) return false;
    await this.advance(Math.max(0, due - this.#now));
    return true;
  }

  #takeNext(limit: number): Timer | undefined {
    this.#timers = this.#timers.filter((timer) => !timer.cancelled);
    let best: Timer | undefined;
    for (const timer of this.#timers) {
      if (timer.due > limit) continue;
      if (!best || timer.due < best.due || (timer.due === best.due && timer.seq < best.seq)) best = timer;
    }
    if (best) best.cancelled = true;
    return best;
  }
}
