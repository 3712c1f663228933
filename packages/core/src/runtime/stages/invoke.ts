import type { HandlerRegistration } from '../../handlers/registry.js';
import type { HandlerContext } from '../../handlers/types.js';
import type { Envelope } from '../../message/envelope.js';
import type { InboxStore } from '../../resilience/stores.js';
import type { Observers } from '../../util/observers.js';
import type { HandlerRun, Stage, Step } from './pipeline.js';

/** Builds the context a handler gets (its bus, headers, signal, logger, and the transaction of a transactional inbox). */
export type ContextFactory = (
  envelope: Envelope,
  handler: HandlerRegistration,
  transaction?: unknown,
) => HandlerContext;

/**
 * Invoke the handler with the validated payload: the last stage, it ignores
 * the `next` it is given. Success sets `outcome = 'handled'` and `result` (and the duration when
 * someone listens to `handled`); a throw or rejection is reported to observers
 * (`failed`) and propagates, as it is, to the retry stages. A handler
 * registered with `transactionalInbox` runs inside `inbox.processInTransaction`,
 * which commits its writes and the inbox record together.
 */
export function invokeStage(context: ContextFactory, observers: Observers, inbox?: InboxStore): Stage<HandlerRun> {
  const transactional = inbox?.processInTransaction?.bind(inbox);
  const failed = (run: HandlerRun, error: unknown): never => {
    observers.emit('failed', { handler: run.handler.id, envelope: run.envelope, error });
    throw error;
  };
  return {
    name: 'invoke',
    wrap:
      () =>
      (run): Step => {
        const timed = observers.has('handled');
        const started = timed ? performance.now() : 0;
        let result: unknown;
        try {
          const { handler, envelope, payload } = run;
          result =
            handler.transactionalInbox && transactional
              ? transactional(handler.id, envelope.headers.id, (tx) =>
                  handler.invoke(payload, context(envelope, handler, tx)),
                )
              : handler.invoke(payload, context(envelope, handler));
        } catch (error) {
          return failed(run, error);
        }
        if (result instanceof Promise) {
          return result.then(
            (value: unknown) => {
              run.result = value;
              run.outcome = 'handled';
              if (timed) run.durationMs = performance.now() - started;
            },
            (error: unknown) => failed(run, error),
          );
        }
        run.result = result;
        run.outcome = 'handled';
        if (timed) run.durationMs = performance.now() - started;
        return undefined;
      },
  };
}
