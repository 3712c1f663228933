import { HandlerError, PoisonMessageError, ValidationError } from '../../errors.js';
import { deadLetter } from '../../resilience/failures.js';
import type { DeadLetterStore } from '../../resilience/stores.js';
import type { Clock } from '../../util/clock.js';
import { rawLogFields } from '../../util/log-fields.js';
import type { Logger } from '../../util/logger.js';
import type { Observers } from '../../util/observers.js';
import { type Next, type Run, recover, type Stage, type Step } from './pipeline.js';

/** What the dead-letter stage needs. */
export interface DeadLetterParts {
  readonly service: string;
  readonly store: DeadLetterStore;
  readonly observers: Observers;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * True for the errors that reject a message for good: undecodable, unroutable
 * or misaddressed input (PoisonMessageError), a payload that breaks its
 * contract (ValidationError), a handler out of retries (HandlerError). Any
 * other error is an infrastructure failure: the delivery is nacked instead.
 */
export function rejectsMessage(error: unknown): boolean {
  return error instanceof PoisonMessageError || error instanceof ValidationError || error instanceof HandlerError;
}

/**
 * Dead letter: runs the rest of the pipeline and stores whatever it rejects
 * (see {@link rejectsMessage}) as a dead-letter record — the original bytes,
 * the reason, the handler when one was chosen, the attempts — then tells
 * observers (`deadLettered`) and logs. The run then ends normally
 * (`outcome = 'deadLettered'`), so the delivery is acked. If the store fails,
 * that failure propagates: the delivery is nacked and comes back. Used twice:
 * around the whole delivery (decode and route failures) and around each
 * handler (validation and handler failures), so that one handler's dead letter
 * does not stop the others.
 */
export function deadLetterStage<R extends Run>(parts: DeadLetterParts): Stage<R> {
  const store = (run: R, error: unknown): Step => {
    if (!rejectsMessage(error)) throw error;
    const { delivery, envelope, handler } = run;
    return deadLetter(parts.store, parts.observers, parts.clock, {
      service: parts.service,
      channel: delivery.channel,
      message: delivery.message,
      ...(envelope ? { envelope } : {}),
      ...(handler ? { handler: handler.id } : {}),
      error,
      attempts: envelope?.headers.attempt ?? delivery.deliveryCount,
    }).then((record) => {
      run.outcome = 'deadLettered';
      const fields = rawLogFields(parts.service, delivery.message.id, delivery.message.headers);
      parts.logger.warn(
        {
          ...fields,
          deadLetter: record.id,
          ...(handler ? { handler: handler.id } : {}),
          reason: record.reason.message,
        },
        'message dead-lettered',
      );
    });
  };
  return {
    name: 'dead-letter',
    wrap: (next: Next<R>) => (run: R) => recover(run, next, store),
  };
}
