import { describeError, ErrorCode, type RemoteFailure, SwitchyardError } from '../errors.js';
import type { Envelope } from '../message/envelope.js';

/**
 * How a reply travels. A reply is a message of kind `reply` whose causation id
 * is the id of the request it answers (the caller correlates by it) and whose
 * correlation id, trace context and metadata are the request's. A success
 * carries the query's name as its type and the handler's return value as its
 * payload; a failure carries the type {@link REMOTE_ERROR_TYPE} and a
 * {@link RemoteFailure} as its payload.
 */

/** The CloudEvents type of an error reply. */
export const REMOTE_ERROR_TYPE = 'switchyard.error';

/** True for a delivered message that asks for a reply: a query with a reply address. */
export function isRequest(envelope: Envelope): boolean {
  return envelope.headers.kind === 'query' && envelope.headers.replyTo !== undefined;
}

/** What a handler's error tells the caller: its code (`SY_HANDLER_FAILED` unless a Switchyard error), message, class name, and the stack only when asked. */
export function remoteFailureOf(error: unknown, withStack: boolean): RemoteFailure {
  const cause = error instanceof SwitchyardError && error.code === ErrorCode.HandlerFailed ? error.cause : error;
  const code = cause instanceof SwitchyardError ? cause.code : ErrorCode.HandlerFailed;
  const name = cause instanceof Error ? cause.name : typeof cause;
  const failure: RemoteFailure = { code, message: describeError(cause), name };
  return withStack && cause instanceof Error && cause.stack !== undefined
    ? { ...failure, stack: cause.stack }
    : failure;
}

/** The failure an error reply carries; tolerant of what another implementation may send. */
export function readRemoteFailure(payload: unknown): RemoteFailure {
  const body = (payload !== null && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
  const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
  const failure: RemoteFailure = {
    code: text(body.code, ErrorCode.HandlerFailed),
    message: text(body.message, 'the remote handler failed'),
    name: text(body.name, 'Error'),
  };
  return typeof body.stack === 'string' ? { ...failure, stack: body.stack } : failure;
}
