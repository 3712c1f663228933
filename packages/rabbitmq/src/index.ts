/**
 * `@switchyard/rabbitmq`: the RabbitMQ transport (amqplib). Exchanges and
 * queues Switchyard does not own are written with core's `MessagePublisher`
 * and consumed with `service.consumeEndpoint`, both through this transport's
 * `sendEndpoint` / `consumeEndpoint`.
 */

export { RabbitMqDeadLetterStore, type RabbitMqDeadLetterStoreOptions } from './dead-letter-store.js';
export { transportFromUrl } from './from-url.js';
export type { RabbitMqQueueType, RabbitMqTransportOptions } from './options.js';
export { RabbitMqTransport } from './rabbitmq-transport.js';
export type { ContentMode } from './wire.js';
