import type { HandlerRegistration } from '../../handlers/registry.js';
import { type DeliveryRun, each, type HandlerRun, handlerRun, type Stage, type Step } from './pipeline.js';

/**
 * Fan-out to the chosen handlers: each one's share of the delivery runs
 * through the handler pipeline, one after the other in registration order. The
 * last stage of the delivery pipeline. A handler whose run was dead-lettered
 * or scheduled for a retry does not stop the ones after it; an infrastructure
 * failure does (the delivery is nacked, and the inbox skips on redelivery the
 * handlers that had finished).
 */
export function handlersStage(pipeline: (run: HandlerRun) => Step): Stage<DeliveryRun> {
  const runOne = (run: DeliveryRun, handler: HandlerRegistration): Step =>
    pipeline(handlerRun(run, run.envelope as NonNullable<DeliveryRun['envelope']>, handler));
  return {
    name: 'handlers',
    wrap: () => (run) => {
      if (run.envelope === undefined) throw new Error('the handlers stage needs the decode stage before it');
      return each(run, run.handlers, runOne);
    },
  };
}
