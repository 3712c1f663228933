/**
 * `@switchyard/kafka`: the Kafka transport. See docs/transports/kafka.md for
 * the topology, the guarantees and the options.
 */

export type {
  Assignment,
  BatchControl,
  ConsumerSpec,
  GroupConsumer,
  IncomingBatch,
  IncomingRecord,
  KafkaClient,
  OutgoingRecord,
} from './client.js';
export { KafkaDeadLetterStore, type KafkaDeadLetterStoreOptions } from './dead-letter-store.js';
export { KafkaTransport } from './kafka-transport.js';
export { KafkajsClient } from './kafkajs-client.js';
export type { KafkaLogEntry, KafkaTransportOptions, ResolvedKafkaOptions } from './options.js';
export { parseKafkaUrl, transportFromUrl } from './url.js';
export { InternalHeader } from './wire.js';
