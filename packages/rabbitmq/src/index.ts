/**
 * `@switchyard/rabbitmq`: the RabbitMQ transport (amqplib), plus a raw
 * publisher and consumer for exchanges and queues Switchyard does not own.
 */

export { RabbitMqDeadLetterStore, type RabbitMqDeadLetterStoreOptions } from './dead-letter-store.js';
export { transportFromUrl } from './from-url.js';
export {
  type ConvertedMessage,
  type ForeignMessage,
  type InvalidMessage,
  RabbitMqMessageConsumer,
  type RabbitMqMessageConsumerOptions,
} from './message-consumer.js';
export {
  RabbitMqMessagePublisher,
  type RabbitMqMessagePublisherOptions,
  type RawOutgoingMessage,
} from './message-publisher.js';
export type { RabbitMqQueueType, RabbitMqTransportOptions } from './options.js';
export { RabbitMqTransport } from './rabbitmq-transport.js';
