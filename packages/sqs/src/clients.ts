import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { ConnectionWatch } from '@switchyard/core/transport';
import { isAbort, isConnectionError } from './errors.js';
import type { ResolvedSqsOptions } from './options.js';

/** The SDK clients of one transport. Created lazily (construction of the SDK client does no I/O either). */
export interface AwsClients {
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
}

/**
 * Build the SQS and SNS clients. Region, credentials and endpoint come from
 * the options when given, otherwise from the SDK's own chain (environment,
 * shared config files, instance or task role).
 */
export function createClients(options: ResolvedSqsOptions, connection?: ConnectionWatch): AwsClients {
  const common: SQSClientConfig & SNSClientConfig = {};
  if (options.region !== undefined) common.region = options.region;
  if (options.endpoint !== undefined) common.endpoint = options.endpoint;
  if (options.credentials !== undefined) common.credentials = { ...options.credentials };
  // The queue URL returned by an emulator names the host it was reached on;
  // keep requests on the configured endpoint all the same.
  const sqs = new SQSClient({ ...common, useQueueUrlAsEndpoint: options.endpoint === undefined });
  const sns = new SNSClient(common);
  if (connection) {
    sqs.middlewareStack.add((next) => (args) => watched(next(args), connection), WATCH);
    sns.middlewareStack.add((next) => (args) => watched(next(args), connection), WATCH);
  }
  return { sqs, sns };
}

const WATCH = { step: 'initialize', name: 'switchyardConnectionWatch' } as const;

/**
 * SQS and SNS are HTTP APIs: there is no connection to hold, so "connected"
 * means the endpoint answered the last requests. Every request (after the
 * SDK's own retries) reports to `connection`: an HTTP answer, an error status
 * included, means the endpoint is there; a failure before any answer (refused,
 * reset, timed out) means it may not be. Our own aborts (close) say nothing.
 */
async function watched<T>(request: Promise<T>, connection: ConnectionWatch): Promise<T> {
  try {
    const out = await request;
    connection.up();
    return out;
  } catch (error) {
    if (isAbort(error)) throw error;
    if (isConnectionError(error)) connection.down(error);
    else if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined)
      connection.up();
    throw error;
  }
}
