/** One call waiting for its deadline: `expire` runs at most once, and not once `done` is set. */
export interface Watched {
  readonly deadline: number;
  expire(): void;
  done: boolean;
}

/**
 * Deadlines of the publisher's calls on one timer instead of one timer per
 * call: arming and clearing a timer for every send cost more CPU than the
 * rest of the wait. The timer is armed for the earliest deadline waiting;
 * when it fires it expires every call whose deadline passed and re-arms for
 * the earliest left. A finished call is only marked done; finished calls at
 * the head of the queue (nearly all of them: calls share one timeout, so
 * they mostly finish in order) are dropped as new ones arrive, so the queue
 * holds about the calls in flight. The timer is unref'd: waiting calls do
 * not keep the process alive by themselves (their sockets do).
 */
export class DeadlineWatch {
  #queue: Watched[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Call `expire` at `deadline` (epoch ms) unless the returned `done` ran first. */
  watch(deadline: number, expire: () => void): () => void {
    const entry: Watched = { deadline, expire, done: false };
    this.add(entry);
    return () => {
      entry.done = true;
    };
  }

  /** Expire `entry` at its deadline unless its owner set `done` first (no closure per call). */
  add(entry: Watched): void {
    this.#dropFinished();
    this.#queue.push(entry);
    if (entry.deadline < this.#armedFor) this.#arm(entry.deadline);
  }

  /** Stop the timer; calls still waiting are no longer expired (their channel closing settles them). */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.#queue = [];
    this.#head = 0;
  }

  #dropFinished(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Watched).done) this.#head++;
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, deadline - Date.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const waiting: Watched[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const entry = this.#queue[i] as Watched;
      if (entry.done) continue;
      if (entry.deadline <= now) {
        entry.done = true;
        entry.expire();
      } else {
        waiting.push(entry);
        if (entry.deadline < earliest) earliest = entry.deadline;
      }
    }
    this.#queue = waiting;
    this.#head = 0;
    if (waiting.length > 0) this.#arm(earliest);
  }
}
