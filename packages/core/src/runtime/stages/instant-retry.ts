import { type HandlerRun, recover, type Stage, type Step } from './pipeline.js';

/**
 * Instant retries: run the rest again, at once, after a failure, up to the
 * handler policy's `instantRetries` times, while the error is retryable and
 * the service has not stopped. The last failure propagates to the retry stage.
 */
export function instantRetryStage(signal: AbortSignal): Stage<HandlerRun> {
  return {
    name: 'instant-retry',
    wrap: (next) => {
      const again = (run: HandlerRun, failure: unknown): Step => {
        const policy = run.handler.retry;
        if (!policy.retryable(failure) || signal.aborted || run.instantRetries >= policy.instantRetries) throw failure;
        run.instantRetries++;
        return recover(run, next, again);
      };
      return (run) => recover(run, next, again);
    },
  };
}
