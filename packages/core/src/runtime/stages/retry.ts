import type { Dispatcher } from '../../bus/dispatcher.js';
import { isRequest } from '../../bus/reply-wire.js';
import { HandlerError, SwitchyardError } from '../../errors.js';
import { readdress } from '../../resilience/failures.js';
import { retryDelayMs } from '../../resilience/retry-policy.js';
import type { Clock } from '../../util/clock.js';
import type { Observers } from '../../util/observers.js';
import { type HandlerRun, recover, type Stage, type Step } from './pipeline.js';

/** What the delayed-retry stage needs. */
export interface RetryParts {
  /** This service: retries are sent to its own channel. */
  readonly service: string;
  /** The one send path; a retry is sent with origin `retry`. */
  readonly dispatcher: Pick<Dispatcher, 'dispatch'>;
  readonly clock: Clock;
  readonly observers: Observers;
  /** Aborted when the service stopped: a handler failing then is not retried but nacked. */
  readonly signal: AbortSignal;
}

/**
 * Delayed retry: when the handler failed for good in this delivery (instant
 * retries spent), re-send a copy of the message to this service, addressed to
 * that handler only, with attempt + 1 and due after the policy's backoff
 * (`outcome = 'retried'`, observers get `retried`). The copy is confirmed by
 * the broker before the original is acked, so a crash in between duplicates
 * rather than loses. Out of delayed retries, or for an error the policy calls
 * not retryable, it throws a HandlerError for the dead-letter stage. A
 * handler that failed because the service stopped is neither: its raw error
 * propagates and the delivery is nacked. A failing send propagates too (nack).
 */
export function retryStage(parts: RetryParts): Stage<HandlerRun> {
  const giveUp = (run: HandlerRun, failure: unknown): Step => {
    // A request is answered with its error instead (reply stage): the caller decides whether to ask again.
    if (isRequest(run.envelope)) throw failure;
    if (parts.signal.aborted && !(failure instanceof SwitchyardError)) throw failure;
    const { handler, envelope } = run;
    const policy = handler.retry;
    const attempt = envelope.headers.attempt;
    if (!policy.retryable(failure) || attempt > policy.delayedRetries) throw new HandlerError(handler.id, failure);
    const delayMs = retryDelayMs(policy, attempt);
    const message = readdress(run.delivery.message, {
      handler: handler.id,
      attempt: attempt + 1,
      deliverAt: parts.clock.now() + delayMs,
    });
    return parts.dispatcher
      .dispatch({ destination: { kind: 'send', service: parts.service }, message }, 'retry')
      .then(() => {
        run.outcome = 'retried';
        parts.observers.emit('retried', { handler: handler.id, envelope, nextAttempt: attempt + 1, delayMs });
      });
  };
  return {
    name: 'retry',
    wrap: (next) => (run) => recover(run, next, giveUp),
  };
}
