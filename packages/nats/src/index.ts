/**
 * `@switchyard/nats`: the NATS JetStream transport. Use it through a URL
 * (`createService({ transport: 'nats://127.0.0.1:4222' })`, which calls
 * {@link transportFromUrl}) or construct {@link NatsTransport} directly.
 */

export { NatsDeadLetterStore } from './dead-letter-store.js';
export { transportFromUrl } from './from-url.js';
export { coverFilter, natsFilters } from './names.js';
export { NatsTransport } from './nats-transport.js';
export type { NatsTransportOptions } from './options.js';
