/**
 * `@switchyard/kafka`: the Kafka transport. See docs/transports/kafka.md for
 * the topology, the guarantees and the options.
 */

// The client seam (`options.client`, docs/transports/kafka.md). The built-in kafkajs client, the
// resolved options and the transport's own header names are internal: tests import them from
// their modules, not from here.
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
export type { KafkaLogEntry, KafkaTransportOptions } from './options.js';
export { parseKafkaUrl, transportFromUrl } from './url.js';
