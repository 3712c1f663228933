/**
 * `@switchyard/core/transport`: the SPI that broker adapters implement, and the
 * helpers they share (pattern matcher, concurrency gate, settle-once, the
 * structured codec, the wire codec and errors).
 */
export type * from './types.js';
export { matchesPattern, compilePattern, validatePattern, type PatternMatcher } from '../routing/pattern.js';
export { ConcurrencyGate } from './concurrency-gate.js';
export { settleOnce } from './settle-once.js';
export { toStructured, fromStructured, MAX_STRUCTURED_HEADERS } from '../message/structured.js';
export { encode, decode, messageSize, Header } from '../message/codec.js';
export type { Envelope, MessageHeaders, MessageKind } from '../message/envelope.js';
export {
  TransportError,
  SwitchyardError,
  ConfigurationError,
  PoisonMessageError,
  ErrorCode,
  describeError,
} from '../errors.js';
export { systemClock, sleep, type Clock } from '../util/clock.js';
