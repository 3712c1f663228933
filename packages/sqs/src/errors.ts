import { describeError, ErrorCode, SwitchyardError, TransportError } from '@switchyard/core/transport';

/** Fields the AWS SDK v3 puts on its service exceptions. */
interface AwsErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** True when `error` says the queue does not exist (SQS spells it two ways, depending on the protocol). */
export function isMissingQueue(error: unknown): boolean {
  const e = error as AwsErrorShape | undefined;
  return MISSING_QUEUE.has(e?.name ?? '') || MISSING_QUEUE.has(e?.Code ?? '');
}

/** True when the SDK failed before any HTTP answer: the endpoint is unreachable or the connection dropped. */
export function isConnectionError(error: unknown): boolean {
  const e = error as AwsErrorShape | undefined;
  return e?.$metadata?.httpStatusCode === undefined && e?.$fault === undefined;
}

/** True when `error` is an abort caused by our own AbortSignal. */
export function isAbort(error: unknown): boolean {
  const name = (error as AwsErrorShape | undefined)?.name;
  return name === 'AbortError';
}

/**
 * Wrap a driver error in a TransportError. Connection failures get
 * `SY_TRANSPORT_UNAVAILABLE`; everything else gets `code`. A SwitchyardError
 * passes through unchanged.
 */
export function wrapError(code: ErrorCode, what: string, error: unknown): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  const finalCode = isConnectionError(error) && code !== ErrorCode.SendFailed ? ErrorCode.TransportUnavailable : code;
  return new TransportError(finalCode, `SQS: ${what} failed: ${describeError(error)}`, { cause: error });
}
