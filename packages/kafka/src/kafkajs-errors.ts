import { describeError, ErrorCode, TransportError } from '@switchyard/core/transport';

/** What every call on a closed kafkajs client rejects with. */
export function closed(): TransportError {
  return new TransportError(ErrorCode.Closed, 'kafka: the client is closed');
}

/** A kafkajs failure to reach or use the cluster, with the kafkajs error as `cause`. */
export function unavailable(what: string, error: unknown): TransportError {
  return new TransportError(ErrorCode.TransportUnavailable, `kafka: ${what}: ${describeError(error)}`, {
    cause: error,
  });
}
