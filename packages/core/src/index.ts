/**
 * `@switchyard/core`: contracts, handlers, buses, the service runtime and the
 * reliability parts (retry policy, dead letters, inbox, outbox relay).
 * Transport authors import `@switchyard/core/transport`; the in-memory
 * transport is `@switchyard/core/memory`. Exports whose doc comment says
 * `@internal` serve Switchyard's own packages and tests and may change
 * without notice.
 */

export { Dispatcher, type SendOrigin } from './bus/dispatcher.js';
export { LocalBuses } from './bus/local-bus.js';
export { type Causation, type MetadataPropagation, OutgoingMessages, type OutgoingSpec } from './bus/outgoing.js';
export { REMOTE_ERROR_TYPE } from './bus/reply-wire.js';
export {
  DEFAULT_REPLY_CHANNEL_EXPIRY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type RequestOptions,
} from './bus/request.js';
export { ServiceBus } from './bus/service-bus.js';
export {
  type Contract,
  type ContractOptions,
  defineCommand,
  defineEvent,
  defineMessage,
  defineQuery,
  type InputOf,
  type PayloadOf,
  type QueryContract,
  type ResultOf,
  type Upcaster,
} from './contracts/contract.js';
export { Command, contractOfClass, Event, Message, type MessageClass, Query } from './contracts/message-class.js';
export { validate } from './contracts/validate.js';
export { dataSchemaOf, validateIncoming, versionOf } from './contracts/versioning.js';
export * from './errors.js';
export { Asynchronous, CommandHandler, Distributed, EventHandler, QueryHandler } from './handlers/decorators.js';
export type { HandlerRegistration } from './handlers/registry.js';
export type {
  DistributedBus,
  Handler,
  HandlerContext,
  HandlerOptions,
  MessageRef,
  SendOptions,
} from './handlers/types.js';
export type {
  HandleContext,
  HandleInterceptor,
  Interceptor,
  SendContext,
  SendInterceptor,
} from './interceptors/types.js';
export { decode, encode, Header } from './message/codec.js';
export type { WireForm } from './message/ecotone.js';
export type { Envelope, MessageHeaders, MessageKind } from './message/envelope.js';
export type { Destination, OutboundMessage } from './message/outbound.js';
export { fromStructured, toStructured } from './message/structured.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox/relay.js';
export {
  countDeadLetters,
  decodeDeadLetter,
  encodeDeadLetter,
  selectDeadLetters,
} from './resilience/dead-letter-codec.js';
export {
  checkRetention,
  type DeadLetterRetention,
  expiredDeadLetters,
} from './resilience/dead-letter-retention.js';
export { InMemoryDeadLetterStore, InMemoryInboxStore, matchesFilter } from './resilience/memory-stores.js';
export { replayDeadLetter, replayDeadLetters } from './resilience/replay.js';
export {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type RetryPolicyOptions,
  resolveRetryPolicy,
  retryDelayMs,
} from './resilience/retry-policy.js';
export type * from './resilience/stores.js';
export { compilePattern, matchesPattern } from './routing/pattern.js';
export type {
  FinalFailure,
  FinalFailureHandler,
  FinalFailureStrategy,
} from './runtime/stages/final-failure.js';
export type { ServiceHealth } from './service/health.js';
export {
  type HealthServer,
  type HealthServerOptions,
  type HealthSource,
  serveHealth,
} from './service/health-server.js';
export type { ForeignMessage, MessageConsumerOptions } from './service/message-consumer.js';
export { MessagePublisher, type RawMessage } from './service/message-publisher.js';
export type { ServiceOptions } from './service/options.js';
export { createService, Service } from './service/service.js';
export {
  type PublishTarget,
  type ResolvedRoute,
  ServiceMap,
  type ServiceMapOptions,
  type ServiceRoute,
} from './service/service-map.js';
export { INSTRUMENTATION_SCOPE, type TelemetryOptions } from './telemetry/telemetry.js';
export { formatTraceparent, parseTraceparent } from './telemetry/trace-context.js';
export {
  DEFAULT_TRANSPORT_URL,
  packageForUrl,
  redact,
  schemeOf,
  TRANSPORT_SCHEMES,
  transportFromUrl,
} from './transport/transport-url.js';
export type { ConnectionState, Transport, TransportCapabilities, TransportMessage } from './transport/types.js';
export { type Clock, systemClock } from './util/clock.js';
export { type MessageLogFields, messageLogFields } from './util/log-fields.js';
export { defaultLogger, type Logger } from './util/logger.js';
export type { Listener, ServiceEvents } from './util/observers.js';
