import type { QueryContract } from '../contracts/contract.js';
import { ErrorCode, SwitchyardError } from '../errors.js';

/**
 * One request awaiting its reply: a promise that settles once, by the reply,
 * by `timeoutMs` passing (`SY_TIMEOUT`), or by `signal` aborting (with the
 * signal's reason), whichever comes first. Later settlements are ignored, and
 * the timer and abort listener are released as soon as it settles.
 * @internal
 */
export class PendingCall {
  readonly promise: Promise<unknown>;
  /** What the reply is checked against; set once the request was built. */
  reply: { readonly target: string; readonly contract: QueryContract } | undefined;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  readonly #timer: NodeJS.Timeout;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.reject(this.#signal?.reason);
  #onSettle: (() => void) | undefined;

  constructor(what: string, timeoutMs: number, signal: AbortSignal | undefined) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#signal = signal;
    this.#timer = setTimeout(
      () => this.reject(new SwitchyardError(ErrorCode.Timeout, `no reply to ${what} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    if (signal?.aborted) this.reject(signal.reason);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Run `callback` when the call settles (at once if it has); one callback. */
  onSettle(callback: () => void): void {
    if (this.#settled) callback();
    else this.#onSettle = callback;
  }

  resolve(value: unknown): void {
    if (this.#finish()) this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#finish()) this.#reject(error);
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onSettle?.();
    return true;
  }
}
