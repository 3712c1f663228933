import type { QueryContract } from '../contracts/contract.js';
import { ErrorCode, SwitchyardError } from '../errors.js';

/**
 * Who keeps a {@link PendingCall}: told once when it settles, to forget it.
 * @internal
 */
export interface CallKeeper {
  release(call: PendingCall): void;
}

/**
 * One request awaiting its reply: a promise that settles once, by the reply,
 * by its deadline passing ({@link expire}: `SY_TIMEOUT`), or by `signal`
 * aborting (with the signal's reason), whichever comes first. Later
 * settlements are ignored; on settling, the abort listener is removed and the
 * keeper releases the call. The call holds no timer of its own: its keeper
 * checks deadlines with one shared timer (see `request-deadlines.ts`), so a
 * request costs no timer and no closure unless it has a signal.
 * @internal
 */
export class PendingCall {
  readonly promise: Promise<unknown>;
  /** When it times out, in the keeper's clock (ms). */
  readonly deadline: number;
  /** The id of the request message, once built; the reply's causation id. */
  id: string | undefined;
  readonly target: string;
  /** What the reply is checked against. */
  readonly contract: QueryContract;
  readonly #timeoutMs: number;
  readonly #keeper: CallKeeper;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    keeper: CallKeeper,
    target: string,
    contract: QueryContract,
    now: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#keeper = keeper;
    this.target = target;
    this.contract = contract;
    this.#timeoutMs = timeoutMs;
    this.deadline = now + timeoutMs;
    if (signal === undefined) return;
    if (signal.aborted) {
      this.reject(signal.reason);
      return;
    }
    this.#signal = signal;
    this.#onAbort = () => this.reject(signal.reason);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  resolve(value: unknown): void {
    if (this.#finish()) this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#finish()) this.#reject(error);
  }

  /** Reject with `SY_TIMEOUT`: its deadline passed without a reply. */
  expire(): void {
    this.reject(
      new SwitchyardError(
        ErrorCode.Timeout,
        `no reply to '${this.contract.name}' from '${this.target}' within ${this.#timeoutMs} ms`,
      ),
    );
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
    this.#keeper.release(this);
    return true;
  }
}
