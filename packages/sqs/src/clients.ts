import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
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
export function createClients(options: ResolvedSqsOptions): AwsClients {
  const common: SQSClientConfig & SNSClientConfig = {};
  if (options.region !== undefined) common.region = options.region;
  if (options.endpoint !== undefined) common.endpoint = options.endpoint;
  if (options.credentials !== undefined) common.credentials = { ...options.credentials };
  return {
    // The queue URL returned by an emulator names the host it was reached on;
    // keep requests on the configured endpoint all the same.
    sqs: new SQSClient({ ...common, useQueueUrlAsEndpoint: options.endpoint === undefined }),
    sns: new SNSClient(common),
  };
}
