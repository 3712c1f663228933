/**
 * `@switchyard/rabbitmq`: the RabbitMQ transport (amqplib), plus a raw
 * publisher and consumer for exchanges and queues Switchyard does not own.
 */

export { transportFromUrl } from './from-url.js';
export type { RabbitMqQueueType, RabbitMqTransportOptions } from './options.js';
export { RabbitMqTransport } from './rabbitmq-transport.js';
