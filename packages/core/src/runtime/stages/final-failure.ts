import { ErrorCode, SwitchyardError } from '../../errors.js';
import type { Envelope } from '../../message/envelope.js';
import { processSpanOf } from '../../telemetry/process-span.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import { messageLogFields } from '../../util/log-fields.js';
import type { Logger } from '../../util/logger.js';
import { rejectsMessage } from './dead-letter.js';
import { type DeliveryRun, type HandlerRun, recover, type Stage, type Step, withValue } from './pipeline.js';

/**
 * What happens to a message no retry can fix (a handler out of retries, a
 * payload that breaks its contract):
 * - `deadLetter` (default): stored as a dead letter with its reason, then acked;
 * - `discard`: acked and counted (`switchyard.discarded`, observers are not told a dead letter): for messages that may be dropped;
 * - `stop`: the service stops consuming its channel and reports it
 *   (`service.consumerStopped`); the message is nacked and stays on the broker,
 *   as does everything after it.
 */
export type FinalFailureStrategy = 'deadLetter' | 'discard' | 'stop';

/** The failure an error handler (`ServiceOptions.onFinalFailure`) is told about. */
export interface FinalFailure {
  readonly service: string;
  readonly handler: string;
  readonly envelope: Envelope;
  /** The error that rejects the message: a HandlerError (`cause`: what the handler threw) or a ValidationError. */
  readonly error: SwitchyardError;
  /** What happens next. */
  readonly strategy: FinalFailureStrategy;
}

/**
 * Called once per final failure, before the strategy applies. It may be async;
 * what it throws or rejects with is logged and ignored (the strategy still applies).
 */
export type FinalFailureHandler = (failure: FinalFailure) => void | Promise<void>;

/** What the final-failure stage needs. */
export interface FinalFailureParts {
  readonly service: string;
  /** The service's strategy; a handler's own (`HandlerOptions.finalFailure`) wins. */
  readonly strategy: FinalFailureStrategy;
  readonly onFinalFailure: FinalFailureHandler | undefined;
  /** Stop consuming (strategy `stop`); called once per such failure, must not throw. */
  readonly stopConsuming: (error: SwitchyardError) => void;
  readonly telemetry: Telemetry | undefined;
  readonly logger: Logger;
}

/**
 * Final failure: sits just inside the handler's dead-letter stage and decides,
 * per the strategy, what a rejected message becomes. `deadLetter` rethrows to
 * the dead-letter stage; `discard` ends the run (`outcome = 'discarded'`, acked);
 * `stop` stops consuming and throws a `SY_CONSUMER_STOPPED` error, so the
 * delivery is nacked and stays on the broker. Errors that do not reject the
 * message (infrastructure) pass through untouched.
 */
export function finalFailureStage(parts: FinalFailureParts): Stage<HandlerRun> {
  const apply = (run: HandlerRun, error: SwitchyardError, strategy: FinalFailureStrategy): Step => {
    const span = parts.telemetry !== undefined ? processSpanOf(run.envelope) : undefined;
    const fields = messageLogFields(parts.service, run.envelope.headers);
    if (strategy === 'deadLetter') {
      span?.addEvent('dead_letter', { 'error.type': error.code });
      throw error;
    }
    if (strategy === 'discard') {
      span?.addEvent('discard', { 'error.type': error.code });
      parts.telemetry?.instruments.discarded.add(1, {
        'messaging.consumer.group.name': parts.service,
        'error.type': error.code,
      });
      run.outcome = 'discarded';
      parts.logger.warn({ ...fields, handler: run.handler.id, reason: error.message }, 'message discarded');
      return undefined;
    }
    span?.addEvent('stop', { 'error.type': error.code });
    const stopped = new SwitchyardError(
      ErrorCode.ConsumerStopped,
      `service '${parts.service}' stopped consuming: handler '${run.handler.id}' failed for good (strategy 'stop')`,
      { cause: error },
    );
    parts.logger.error({ ...fields, handler: run.handler.id, err: error }, 'final failure: consuming stopped');
    parts.stopConsuming(stopped);
    throw stopped;
  };
  const hookFields = (run: HandlerRun) => ({
    ...messageLogFields(parts.service, run.envelope.headers),
    handler: run.handler.id,
  });
  const decide = (run: HandlerRun, error: unknown): Step => {
    if (!rejectsMessage(error)) throw error;
    const failure = error as SwitchyardError;
    const strategy = run.handler.finalFailure ?? parts.strategy;
    const hook = parts.onFinalFailure;
    if (hook === undefined) return apply(run, failure, strategy);
    let called: unknown;
    try {
      called = hook({
        service: parts.service,
        handler: run.handler.id,
        envelope: run.envelope,
        error: failure,
        strategy,
      });
    } catch (hookError) {
      parts.logger.error({ ...hookFields(run), err: hookError }, 'onFinalFailure threw; ignored');
    }
    const settled =
      called instanceof Promise
        ? called.then(undefined, (hookError: unknown) => {
            parts.logger.error({ ...hookFields(run), err: hookError }, 'onFinalFailure rejected; ignored');
          })
        : undefined;
    return withValue(settled, run, (r) => apply(r, failure, strategy));
  };
  return {
    name: 'final-failure',
    wrap: (next) => (run) => recover(run, next, decide),
  };
}

/**
 * Refuses deliveries once the service stopped consuming (strategy `stop`):
 * they are nacked with the stop error and stay on the broker. First stage of
 * the delivery pipeline.
 */
export function haltStage(stopped: () => SwitchyardError | undefined): Stage<DeliveryRun> {
  return {
    name: 'halt',
    wrap: (next) => (run) => {
      const error = stopped();
      if (error !== undefined) throw error;
      return next(run);
    },
  };
}
