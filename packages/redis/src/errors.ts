import { describeError, type ErrorCode, SwitchyardError, TransportError } from '@switchyard/core/transport';

/**
 * Wrap whatever ioredis threw in a TransportError with `code`, keeping it as
 * `cause`; Switchyard errors pass through unchanged.
 */
export function wrapError(error: unknown, code: ErrorCode, what: string): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  return new TransportError(code, `redis: ${what}: ${describeError(error)}`, { cause: error });
}

/** True for the reply Redis gives when a stream or its consumer group is missing. */
export function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

/** True for the reply to XGROUP CREATE when the group already exists. */
export function isBusyGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('BUSYGROUP');
}
