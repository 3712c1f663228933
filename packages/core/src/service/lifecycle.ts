import { describeError, ErrorCode, hasCode, SwitchyardError } from '../errors.js';
import type { Subscription } from '../transport/types.js';
import type { Logger } from '../util/logger.js';

/** Longest wait between two start attempts of a service that waits for its broker. */
const MAX_ATTEMPT_DELAY_MS = 30_000;
const FIRST_ATTEMPT_DELAY_MS = 500;

/**
 * A ref'd handle that keeps the Node.js event loop (so the process) alive
 * while held, whatever the transports' own sockets and timers do: a started
 * service holds one from `start()` until `stop()`. `release` is idempotent.
 */
export class ProcessHold {
  #timer: NodeJS.Timeout | undefined;

  hold(): void {
    // An interval that never fires in practice; ref'd, so the loop never empties under it.
    this.#timer ??= setInterval(() => undefined, 2 ** 31 - 1);
  }

  release(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** What {@link attachOnce} and {@link attachUntilStopped} need about the broker, for their messages. */
export interface AttachTarget {
  /** Provision the service's channel and attach its consumer. */
  attach(): Promise<Subscription>;
  /** The broker address (no password) or transport name. */
  endpoint(): string;
  /** The last connection error the transport reported, if any. */
  lastError(): string | undefined;
  /** Subscribe to the transport's reports of a failed connect attempt or a lost connection; returns the unsubscribe function. */
  onDown(listener: () => void): () => void;
}

/**
 * One bounded attempt: resolves with the subscription, or rejects with
 * `SY_UNREACHABLE` naming the broker when the transport says it is unavailable
 * (an error, or a reported failed connect attempt) or the attempt takes over `timeoutMs`. Other errors (configuration, a
 * refused declaration) pass through unchanged. A consumer that attaches after
 * the bound is closed again, so nothing consumes behind the caller's back.
 */
export async function attachOnce(target: AttachTarget, timeoutMs: number): Promise<Subscription> {
  const work = target.attach();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const expired = new Promise<'expired' | 'down'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeoutMs);
    // A transport that reports a failed connect attempt has answered: no need to wait out the bound.
    unsubscribe = target.onDown(() => resolve('down'));
  });
  let outcome: Subscription | 'expired' | 'down';
  try {
    outcome = await Promise.race([work, expired]);
    if (outcome !== 'expired' && outcome !== 'down') return outcome;
  } catch (error) {
    if (!hasCode(error, ErrorCode.TransportUnavailable) && !hasCode(error, ErrorCode.Timeout)) throw error;
    throw unreachable(target, describeError(error), error);
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
  work.then((subscription) => subscription.close({ drainTimeoutMs: 0 })).catch(() => undefined);
  throw unreachable(target, outcome === 'down' ? 'the connect attempt failed' : `no answer within ${timeoutMs} ms`);
}

function unreachable(target: AttachTarget, why: string, cause?: unknown): SwitchyardError {
  const last = target.lastError();
  const detail = last !== undefined && !why.includes(last) ? `${why} (last connection error: ${last})` : why;
  return new SwitchyardError(ErrorCode.Unreachable, `the broker at ${target.endpoint()} is unreachable: ${detail}`, {
    cause,
  });
}

/**
 * Repeat {@link attachOnce} with exponential backoff (0.5 s doubling to 30 s)
 * until it succeeds or `signal` aborts; resolves with the subscription, or
 * undefined when stopped first. Logs the first failure as a warning and later
 * ones at debug level, so an outage at boot is one line, not one per attempt.
 */
export async function attachUntilStopped(
  target: AttachTarget,
  timeoutMs: number,
  signal: AbortSignal,
  logger: Logger,
  onError: (error: unknown) => void,
): Promise<Subscription | undefined> {
  const started = Date.now();
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const subscription = await attachOnce(target, timeoutMs);
      if (signal.aborted) {
        await subscription.close({ drainTimeoutMs: 0 });
        return undefined;
      }
      if (attempt > 1) {
        logger.info({ attempts: attempt, waitedMs: Date.now() - started }, 'broker reached: consuming');
      }
      return subscription;
    } catch (error) {
      if (signal.aborted) return undefined;
      onError(error);
      const delayMs = Math.min(MAX_ATTEMPT_DELAY_MS, FIRST_ATTEMPT_DELAY_MS * 2 ** Math.min(attempt - 1, 10));
      const entry = { attempt, delayMs, error: describeError(error) };
      if (attempt === 1) logger.warn(entry, 'cannot start consuming yet; retrying in the background');
      else logger.debug(entry, 'start attempt failed; retrying');
      await abortableDelay(delayMs, signal);
    }
  }
  return undefined;
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
