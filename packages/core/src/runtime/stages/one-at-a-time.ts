import type { HandlerRegistration } from '../../handlers/registry.js';
import type { HandlerRun, Stage, Step } from './pipeline.js';

/**
 * One run per message id and handler at a time. Two copies of one message
 * handled at once would both pass the inbox check (dedup stage) and both run
 * the handler; here the second waits for the first, then goes on, and the
 * inbox then says "duplicate". A run that finished synchronously cannot
 * overlap another, so only asynchronous runs are tracked. The receiver puts
 * this stage before dedup, and only when an inbox is configured.
 */
export function oneAtATimeStage(): Stage<HandlerRun> {
  const running = new Map<HandlerRegistration, Map<string, Promise<void>>>();
  return {
    name: 'one-at-a-time',
    wrap: (next) => {
      const step = (run: HandlerRun): Step => {
        const id = run.envelope.headers.id;
        let runs = running.get(run.handler);
        const other = runs?.get(id);
        if (other !== undefined) {
          const again = () => step(run);
          return other.then(again, again);
        }
        const pending = next(run);
        if (pending === undefined) return undefined;
        if (runs === undefined) {
          runs = new Map();
          running.set(run.handler, runs);
        }
        const tracked = runs;
        const promise: Promise<void> = pending.finally(() => {
          if (tracked.get(id) === promise) tracked.delete(id);
        });
        tracked.set(id, promise);
        return promise;
      };
      return step;
    },
  };
}
