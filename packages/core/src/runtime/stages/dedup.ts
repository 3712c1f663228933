import type { InboxStore } from '../../resilience/stores.js';
import type { Observers } from '../../util/observers.js';
import { after, type HandlerRun, type Stage, type Step, withValue } from './pipeline.js';

/**
 * Dedup through the inbox store: a message this handler already processed is
 * skipped (`outcome = 'duplicate'`, observers get `duplicate`); otherwise the
 * run goes on, and once it ended `handled` the inbox records it. A failing
 * inbox (either call) is an infrastructure failure: the delivery is nacked and
 * comes back, and a handler that ran but was not recorded may run again.
 */
export function dedupStage(inbox: InboxStore, observers: Observers): Stage<HandlerRun> {
  const record = (run: HandlerRun): Step => {
    if (run.outcome !== 'handled') return undefined;
    const marked = inbox.markProcessed(run.handler.id, run.envelope.headers.id);
    return marked instanceof Promise ? marked : undefined;
  };
  return {
    name: 'dedup',
    wrap: (next) => {
      const decide = (run: HandlerRun, seen: boolean): Step => {
        if (!seen) return after(next(run), run, record);
        run.outcome = 'duplicate';
        observers.emit('duplicate', { handler: run.handler.id, envelope: run.envelope });
        return undefined;
      };
      return (run) => withValue(inbox.isProcessed(run.handler.id, run.envelope.headers.id), run, decide);
    },
  };
}
