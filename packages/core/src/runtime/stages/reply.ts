import type { Replier } from '../../bus/replier.js';
import { isRequest } from '../../bus/reply-wire.js';
import { ErrorCode, PoisonMessageError, SwitchyardError } from '../../errors.js';
import { after, type DeliveryRun, type HandlerRun, type Run, recover, type Stage, type Step } from './pipeline.js';

/**
 * The request is acked once its reply was sent (the transport took it, or
 * it was dropped as undeliverable: the replier never rejects), but the
 * handler's slot is free as soon as the reply is handed over: a slow send
 * delays the ack, not the next request. Once the service is stopping, the
 * slot is held until the ack, and `stop()` waits for the acks still pending
 * before it closes the consumer (see `Receiver.whenDeferredAcksDone`): a
 * request is never redelivered because its consumer closed under its ack.
 */
function ackAfterReply(run: Run, sent: Promise<void>): void {
  const earlier = run.ackAfter;
  run.ackAfter = earlier === undefined ? sent : earlier.then(() => sent);
}

/**
 * Answers requests (queries with a reply address): once the handler returned,
 * its return value goes back as the reply; when it failed for good — an
 * invalid payload, or the handler still throwing after its instant retries —
 * the error goes back as an error reply and the request is acked
 * (`outcome = 'answered'`): requests get no delayed retries (the retry stage
 * lets them through) and are never dead-lettered, since the caller decides
 * what to do. Only a handler that failed because the service is stopping is
 * not answered: the request is nacked, so another instance answers it.
 * Placed inside the handler pipeline's dead-letter and final-failure stages,
 * around validation; other messages pass through untouched.
 */
export function replyStage(replier: Pick<Replier, 'reply' | 'fail'>, stopping: AbortSignal): Stage<HandlerRun> {
  const answer = (run: HandlerRun): Step => {
    if (run.outcome === 'handled') ackAfterReply(run, replier.reply(run.envelope, run.result));
    return undefined;
  };
  const failed = (run: HandlerRun, error: unknown): Step => {
    if (stopping.aborted && !(error instanceof SwitchyardError)) throw error;
    run.outcome = 'answered';
    ackAfterReply(run, replier.fail(run.envelope, error));
    return undefined;
  };
  return {
    name: 'reply',
    wrap: (next) => (run) => (isRequest(run.envelope) ? after(recover(run, next, failed), run, answer) : next(run)),
  };
}

/**
 * Answers a request that no handler of this service takes (`SY_NO_HANDLER`)
 * or that is addressed to another service (`SY_MISADDRESSED`) with that error,
 * and acks it, instead of dead-lettering it: its caller learns at once rather
 * than at its timeout. Placed in the delivery pipeline around routing; every
 * other failure, and every other message, passes through untouched.
 */
export function unroutedRequestStage(replier: Pick<Replier, 'fail'>): Stage<DeliveryRun> {
  const unrouted = (run: DeliveryRun, error: unknown): Step => {
    const routing =
      error instanceof PoisonMessageError &&
      (error.code === ErrorCode.NoHandler || error.code === ErrorCode.Misaddressed);
    if (!routing || run.envelope === undefined) throw error;
    ackAfterReply(run, replier.fail(run.envelope, error));
    return undefined;
  };
  return {
    name: 'unrouted-request',
    wrap: (next) => (run) =>
      run.envelope !== undefined && isRequest(run.envelope) ? recover(run, next, unrouted) : next(run),
  };
}
