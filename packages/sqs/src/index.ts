/**
 * `@switchyard/sqs`: the Amazon SQS transport, with SNS fan-out for events.
 * See docs/transports/sqs.md for the topology, the wire format and the limits.
 */

export { SqsDeadLetterStore, type SqsDeadLetterStoreOptions } from './dead-letter-store.js';
export { type FilterValue, filterPolicy, type PatternFilter, patternFilter } from './filter-policy.js';
export { queueName, topicName } from './names.js';
export type { SqsCredentials, SqsRedriveOptions, SqsTransportOptions } from './options.js';
export { SQS_MAX_MESSAGE_BYTES, SqsTransport, type SqsTransportConfig } from './sqs-transport.js';
export { SubscriptionRegistry } from './subscription-registry.js';
export { optionsFromUrl, transportFromUrl } from './url.js';
