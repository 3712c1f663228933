import { JetStreamApiError } from '@nats-io/jetstream';
import { describeError, ErrorCode, SwitchyardError, TransportError } from '@switchyard/core/transport';

/**
 * Wrap whatever the NATS client threw in a TransportError with `code`, keeping
 * it as `cause`; Switchyard errors pass through unchanged.
 */
export function wrapError(error: unknown, code: ErrorCode, what: string): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  return new TransportError(code, `nats: ${what}: ${describeError(error)}`, { cause: error });
}

/** JetStream API error codes this package reacts to. */
export const ApiCode = {
  StreamNotFound: 10059,
  ConsumerNotFound: 10014,
  StreamWrongLastSequence: 10071,
} as const;

/** True when `error` is a JetStream API error with `code` (its `err_code`). */
export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/** A failed send is SY_SEND_FAILED (the message may not be stored), unless the transport was closed or misconfigured. */
export function sendFailed(error: unknown, what: string): SwitchyardError {
  if (
    error instanceof SwitchyardError &&
    (error.code === ErrorCode.Closed || error.code === ErrorCode.SendFailed || error.code === ErrorCode.Configuration)
  ) {
    return error;
  }
  return new TransportError(ErrorCode.SendFailed, `nats: ${what}: ${describeError(error)}`, { cause: error });
}
