import type { Replier } from '../../bus/replier.js';
import { isRequest } from '../../bus/reply-wire.js';
import { SwitchyardError } from '../../errors.js';
import { after, type HandlerRun, recover, type Stage, type Step } from './pipeline.js';

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
  const answer = (run: HandlerRun): Step =>
    run.outcome === 'handled' ? replier.reply(run.envelope, run.result) : undefined;
  const failed = (run: HandlerRun, error: unknown): Step => {
    if (stopping.aborted && !(error instanceof SwitchyardError)) throw error;
    run.outcome = 'answered';
    return replier.fail(run.envelope, error);
  };
  return {
    name: 'reply',
    wrap: (next) => (run) => (isRequest(run.envelope) ? after(recover(run, next, failed), run, answer) : next(run)),
  };
}
