/**
 * `@switchyard/redis`: the Redis Streams transport. Use it through a URL
 * (`createService({ transport: 'redis://127.0.0.1:6379' })`, which calls
 * {@link transportFromUrl}) or construct {@link RedisStreamsTransport} directly.
 */

export { RedisDeadLetterStore, type RedisDeadLetterStoreOptions } from './dead-letter-store.js';
export { transportFromUrl } from './from-url.js';
export type { RedisStreamsTransportOptions } from './options.js';
export { RedisStreamsTransport } from './redis-streams-transport.js';
