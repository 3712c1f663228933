/**
 * `@switchyard/core`: contracts, handlers, buses, the service runtime and the
 * reliability parts (retry policy, dead letters, inbox, outbox relay).
 * Transport authors import `@switchyard/core/transport`; the in-memory
 * transport is `@switchyard/core/memory`.
 */
export * from './errors.js';
export {
  defineCommand,
  defineEvent,
  defineQuery,
  defineMessage,
  type Contract,
  type QueryContract,
  type InputOf,
  type PayloadOf,
  type ResultOf,
} from './contracts/contract.js';
export { Command, Event, Query, Message, contractOfClass, type MessageClass } from './contracts/message-class.js';
export { validate } from './contracts/validate.js';
export { CommandHandler, EventHandler, QueryHandler, Distributed, Asynchronous } from './handlers/decorators.js';
export type { Handler, HandlerContext, HandlerOptions, SendOptions, DistributedBus, MessageRef } from './handlers/types.js';
export { createService, Service } from './service/service.js';
export type { ServiceOptions } from './service/options.js';
export { ServiceMap, type ServiceRoute, type ServiceMapOptions, type ResolvedRoute } from './service/service-map.js';
export { transportFromUrl, packageForUrl } from './service/transport-url.js';
export { LocalBuses } from './bus/local-bus.js';
export { ServiceBus } from './bus/distributed-bus.js';
export { OutgoingMessages, type OutgoingSpec, type Causation } from './bus/outgoing.js';
export { Dispatcher } from './bus/dispatcher.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox/relay.js';
export {
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
  retryDelayMs,
  type RetryPolicy,
  type RetryPolicyOptions,
} from './resilience/retry-policy.js';
export { InMemoryDeadLetterStore, InMemoryInboxStore, matchesFilter } from './resilience/memory-stores.js';
export { replayDeadLetter, replayDeadLetters, type TransportFor } from './resilience/replay.js';
export type * from './resilience/stores.js';
export type { Transport, TransportCapabilities, TransportMessage } from './transport/types.js';
export type { Envelope, MessageHeaders, MessageKind } from './message/envelope.js';
export { encode, decode, Header } from './message/codec.js';
export { toStructured, fromStructured } from './message/structured.js';
export { matchesPattern, compilePattern } from './routing/pattern.js';
export { systemClock, type Clock } from './util/clock.js';
export { defaultLogger, type Logger } from './util/logger.js';
export type { ServiceEvents, Listener } from './util/observers.js';
