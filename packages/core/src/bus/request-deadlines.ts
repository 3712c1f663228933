import type { PendingCall } from './pending-call.js';

/**
 * The deadlines of the waiting requests of one requester, checked with one
 * timer instead of one `setTimeout` per request (a timer per request was a
 * visible share of a request's CPU and of the garbage it leaves). The timer
 * is armed for the earliest deadline; when it fires, every call whose
 * deadline has passed expires, and it is armed again for the earliest of the
 * rest. A call that settles early is only forgotten: the timer may then fire
 * for nothing, once, and re-arm. No call expires before its deadline; one
 * expires at most a timer tick (about 1 ms) after it, unless the event loop
 * is busy. The timer is cleared whenever no call is waiting, so an idle
 * requester keeps nothing alive.
 * @internal
 */
export class RequestDeadlines {
  readonly #calls = new Set<PendingCall>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** `now`: the clock deadlines are measured in (ms). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The clock's current time. */
  now(): number {
    return this.#now();
  }

  /** Watch `call`'s deadline until it settles or {@link delete}. */
  add(call: PendingCall): void {
    this.#calls.add(call);
    if (call.deadline < this.#armedFor) this.#arm(call.deadline);
  }

  /** Stop watching `call` (it settled). */
  delete(call: PendingCall): void {
    this.#calls.delete(call);
    if (this.#calls.size === 0) this.#disarm();
  }

  /** Calls being watched. */
  get size(): number {
    return this.#calls.size;
  }

  /** The calls being watched, for closing; the set itself is not handed out. */
  list(): PendingCall[] {
    return [...this.#calls];
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(this.#fire, Math.max(0, deadline - this.#now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#now();
    let next = Number.POSITIVE_INFINITY;
    // Expiring a call deletes it from the set: allowed while iterating a Set.
    for (const call of this.#calls) {
      if (call.deadline <= now) call.expire();
      else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY && this.#calls.size > 0) this.#arm(next);
  };
}
