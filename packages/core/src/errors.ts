/**
 * The one error hierarchy of Switchyard. Every error thrown or rejected by the
 * framework, a transport or a store is a {@link SwitchyardError} with a stable
 * `code` (safe to switch on, never reworded) and, where a driver or a user
 * function failed underneath, the original error as `cause`. Driver errors are
 * wrapped, never leaked.
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCode = {
  /** Configuration is invalid; the message says what to change. Thrown at construction. */
  Configuration: 'SY_CONFIGURATION',
  /** A transport package that a URL needs is not installed. */
  MissingPackage: 'SY_MISSING_PACKAGE',
  /** The broker could not be reached or the connection was lost. */
  TransportUnavailable: 'SY_TRANSPORT_UNAVAILABLE',
  /**
   * A service could not reach its broker at start (refused, unresolvable, or no
   * answer within `connectTimeoutMs`); the message names the broker address.
   */
  Unreachable: 'SY_UNREACHABLE',
  /** The broker did not confirm a send; the message may not have been stored. */
  SendFailed: 'SY_SEND_FAILED',
  /** The transport, service or store was closed. */
  Closed: 'SY_CLOSED',
  /** A payload failed its contract's schema. */
  Validation: 'SY_VALIDATION',
  /** Bytes on the wire could not be decoded into a message. */
  Decode: 'SY_DECODE',
  /** A message exceeds the configured maximum size. */
  TooLarge: 'SY_TOO_LARGE',
  /** No handler for a command or query, or a received message of an unknown type. */
  NoHandler: 'SY_NO_HANDLER',
  /** A second handler was registered where only one is allowed. */
  DuplicateHandler: 'SY_DUPLICATE_HANDLER',
  /** A command reached a service it is not addressed to. */
  Misaddressed: 'SY_MISADDRESSED',
  /** A user handler threw; `cause` is what it threw. */
  HandlerFailed: 'SY_HANDLER_FAILED',
  /** The service map has no route for a target service. */
  NoRoute: 'SY_NO_ROUTE',
  /** An operation did not finish within its bound. */
  Timeout: 'SY_TIMEOUT',
  /** A store lookup found nothing under the given id. */
  NotFound: 'SY_NOT_FOUND',
  /** A send interceptor refused the message; nothing was sent. `cause` is what it threw. */
  SendRejected: 'SY_SEND_REJECTED',
  /** The service stopped consuming its channel after a final failure (strategy `stop`). */
  ConsumerStopped: 'SY_CONSUMER_STOPPED',
  /** The service that answered a request failed; `remoteCode` and `remoteMessage` say how. */
  Remote: 'SY_REMOTE',
} as const;

/** One of the stable codes above; `SwitchyardError.code` is always one of them. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every Switchyard error. `code` is stable; `cause` holds the wrapped error, if any. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad configuration, thrown at construction time with a message that says what to change. */
export class ConfigurationError extends SwitchyardError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCode.Configuration, message, options);
  }
}

/** A broker or store operation failed; `cause` is the driver's error. */
export class TransportError extends SwitchyardError {}

/** A payload did not satisfy its schema; `issues` lists what is wrong, one line each. */
export class ValidationError extends SwitchyardError {
  readonly issues: readonly string[];

  constructor(messageName: string, issues: readonly string[]) {
    super(ErrorCode.Validation, `payload of '${messageName}' is invalid: ${issues.join('; ')}`);
    this.issues = issues;
  }
}

/** A received message could not be used: undecodable, too large, unknown or misaddressed. */
export class PoisonMessageError extends SwitchyardError {}

/** A user handler threw; `cause` is what it threw. */
export class HandlerError extends SwitchyardError {
  readonly handler: string;

  constructor(handler: string, cause: unknown) {
    super(ErrorCode.HandlerFailed, `handler '${handler}' failed: ${describeError(cause)}`, { cause });
    this.handler = handler;
  }
}

/** True when `error` is a SwitchyardError with the given code. */
export function hasCode(error: unknown, code: ErrorCode): error is SwitchyardError {
  return error instanceof SwitchyardError && error.code === code;
}

/** A one-line description of anything thrown, for logs and dead-letter reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** A send interceptor refused the message (`SY_SEND_REJECTED`); nothing was sent. `cause` is what it threw. */
export class SendRejectedError extends SwitchyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.SendRejected, message, options);
  }
}

/** What a replier tells its caller about a failed request (the body of an error reply). */
export interface RemoteFailure {
  /** The replier's error code: a Switchyard code, or `SY_HANDLER_FAILED` for anything a handler threw. */
  readonly code: string;
  readonly message: string;
  /** The error's class name on the replier (e.g. `ValidationError`, `Error`). */
  readonly name: string;
  /** Only when the replier's service sets `replyErrorStack: true`. */
  readonly stack?: string;
}

/**
 * A request failed in the service that handled it (`SY_REMOTE`). `remoteCode`
 * and `remoteMessage` are what the remote handler's error said; `remoteStack`
 * is there only when the remote service opted in with `replyErrorStack`.
 * `service` names the service that answered.
 */
export class RemoteError extends SwitchyardError {
  readonly service: string;
  readonly remoteCode: string;
  readonly remoteMessage: string;
  readonly remoteName: string;
  readonly remoteStack: string | undefined;

  constructor(service: string, failure: RemoteFailure) {
    super(ErrorCode.Remote, `'${service}' failed the request: ${failure.code}: ${failure.message}`);
    this.service = service;
    this.remoteCode = failure.code;
    this.remoteMessage = failure.message;
    this.remoteName = failure.name;
    this.remoteStack = failure.stack;
  }
}
