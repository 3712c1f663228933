import type { Observers } from '../../util/observers.js';
import { after, type HandlerRun, type Stage, type Step } from './pipeline.js';

/**
 * Reports a handler run that ended `handled` to observers (`handled`, with the
 * invocation's duration), after the inbox recorded it — the first stage of the
 * handler pipeline, so it sees the final outcome. A template for observation
 * interceptors: look at `run.outcome` after `next`, change nothing.
 */
export function reportStage(observers: Observers): Stage<HandlerRun> {
  const report = (run: HandlerRun): Step => {
    if (run.outcome === 'handled' && observers.has('handled')) {
      observers.emit('handled', { handler: run.handler.id, envelope: run.envelope, durationMs: run.durationMs });
    }
    return undefined;
  };
  return {
    name: 'report',
    wrap: (next) => (run) => after(next(run), run, report),
  };
}
