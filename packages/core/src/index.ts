/** `@switchyard/core`: the user API. */
export * from './errors.js';
export type * from './resilience/stores.js';
export type { Envelope, MessageHeaders, MessageKind } from './message/envelope.js';
