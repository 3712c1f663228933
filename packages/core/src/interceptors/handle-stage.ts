import type { HandlerRun, Next, Stage, Step } from '../runtime/stages/pipeline.js';
import type { HandleContext, HandleInterceptor } from './types.js';

/**
 * The handle interceptors as one stage, placed just outside the invoke stage
 * (inside the retries in place): each invocation, retries included, runs
 * through every interceptor, the first registered outermost.
 * @internal
 */
export function handleInterceptorStage(service: string, interceptors: readonly HandleInterceptor[]): Stage<HandlerRun> {
  return {
    name: 'handle-interceptors',
    wrap:
      (invoke: Next<HandlerRun>) =>
      (run: HandlerRun): Step => {
        const context: HandleContext = {
          service,
          handler: run.handler.id,
          headers: run.envelope.headers,
          payload: run.payload,
          attempt: run.envelope.headers.attempt,
          instantRetry: run.instantRetries,
        };
        const step = (index: number): (() => Promise<void>) => {
          const interceptor = interceptors[index];
          if (interceptor === undefined) {
            let called = false;
            return async () => {
              if (called) throw new Error('a handle interceptor called next() twice');
              called = true;
              await invoke(run);
            };
          }
          const next = step(index + 1);
          return async () => {
            await interceptor(context, next);
          };
        };
        return step(0)().then(() => {
          run.outcome ??= 'handled';
        });
      },
  };
}
