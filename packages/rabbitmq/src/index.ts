/**
 * `@switchyard/rabbitmq`: the RabbitMQ transport (amqplib), plus a raw
 * publisher for exchanges Switchyard does not own. Queues Switchyard does not
 * own are consumed with `service.consumeEndpoint` (core), through the
 * service's receive pipeline.
 */

export { RabbitMqDeadLetterStore, type RabbitMqDeadLetterStoreOptions } from './dead-letter-store.js';
export { transportFromUrl } from './from-url.js';
export {
  RabbitMqMessagePublisher,
  type RabbitMqMessagePublisherOptions,
  type RawOutgoingMessage,
} from './message-publisher.js';
export type { RabbitMqQueueType, RabbitMqTransportOptions } from './options.js';
export { RabbitMqTransport } from './rabbitmq-transport.js';
