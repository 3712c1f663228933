import { ErrorCode, SwitchyardError } from '../errors.js';

/**
 * Settles as `promise` does, or rejects with a SwitchyardError
 * (`SY_TIMEOUT`, "timed out after `ms` ms waiting for `what`") when it has not
 * settled within `ms`. The promise itself is not cancelled; a later rejection
 * of it is swallowed once the timeout won. The timer is unref'd, so a pending
 * bound never keeps a process alive.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new SwitchyardError(ErrorCode.Timeout, `timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
