/**
 * `@switchyard/core/transport`: the SPI that broker adapters implement, and the
 * helpers they share (pattern matcher, concurrency gate, settle-once, a
 * timeout bound, the structured codec, the wire codec and errors).
 */

export {
  ConfigurationError,
  describeError,
  ErrorCode,
  PoisonMessageError,
  SwitchyardError,
  TransportError,
} from '../errors.js';
export {
  type BindingPrefix,
  coreHeaderName,
  isStructuredContentType,
  structuredType,
  toBindingHeaders,
  toCoreHeaders,
} from '../message/bindings.js';
export {
  BATCH_CONTENT_TYPE,
  decode,
  encode,
  Header,
  messageSize,
  SPEC_VERSION,
  STRUCTURED_CONTENT_TYPE,
} from '../message/codec.js';
export {
  EcotoneHeader,
  fromEcotoneHeaders,
  isEcotoneMessage,
  readEcotoneWire,
  toEcotoneHeaders,
  toEcotoneTextHeaders,
  WIRE_FORMS,
  type WireForm,
} from '../message/ecotone.js';
export type { Envelope, MessageHeaders, MessageKind } from '../message/envelope.js';
export { fromStructured, MAX_STRUCTURED_HEADERS, toStructured } from '../message/structured.js';
export {
  countDeadLetters,
  decodeDeadLetter,
  encodeDeadLetter,
  selectDeadLetters,
} from '../resilience/dead-letter-codec.js';
export {
  checkRetention,
  type DeadLetterRetention,
  expiredDeadLetters,
} from '../resilience/dead-letter-retention.js';
export {
  DEAD_LETTER_COLUMNS,
  type DeadLetterDialect,
  type DeadLetterRow,
  deadLetterFromRow,
  deadLetterTime,
  deadLetterValues,
  deadLetterWhere,
} from '../resilience/dead-letter-rows.js';
export type { DeadLetterFilter, DeadLetterReason, DeadLetterRecord, DeadLetterStore } from '../resilience/stores.js';
export { compilePattern, matchesPattern, type PatternMatcher, validatePattern } from '../routing/pattern.js';
export { type Clock, sleep, systemClock } from '../util/clock.js';
export { withTimeout } from '../util/with-timeout.js';
export {
  BookedReplyChannels,
  type BookedReplyChannelsOptions,
  type ReplyChannelBook,
  type ReplyChannelHost,
} from './booked-replies.js';
export { ClaimedDelivery, type ClaimSink, parseStoredHeaders, SETTLED } from './claimed-delivery.js';
export { checkChannel, claimingSettings, OpenConsumers, storedHeaders } from './claimed-table.js';
export {
  type ClaimedRow,
  ClaimingConsumer,
  type ClaimingSettings,
  type LeaseAccess,
} from './claiming-consumer.js';
export { ConcurrencyGate } from './concurrency-gate.js';
export { ConnectionWatch, type ConnectionWatchOptions } from './connection-watch.js';
export { type ConsumeLimits, consumeLimits } from './consume-options.js';
export { FetchWaker } from './fetch-waker.js';
export { HandlerSlots } from './handler-slots.js';
export { SendBatcher, type SendBatcherOptions } from './send-batcher.js';
export { settleOnce } from './settle-once.js';
export { redact } from './transport-url.js';
export type * from './types.js';
