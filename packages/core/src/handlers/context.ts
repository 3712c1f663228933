import { type BusParts, ServiceBus } from '../bus/service-bus.js';
import type { Envelope, MessageHeaders } from '../message/envelope.js';
import type { Logger } from '../util/logger.js';
import type { HandlerRegistration } from './registry.js';
import type { HandlerContext } from './types.js';

/** A handler's context: its message's headers and a bus that propagates correlation, causation and trace. */
export class Context extends ServiceBus implements HandlerContext {
  readonly headers: MessageHeaders;
  readonly service: string;
  readonly handler: string;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly transaction: unknown;

  constructor(
    parts: BusParts,
    envelope: Envelope,
    handler: HandlerRegistration,
    scope: { service: string; signal: AbortSignal; logger: Logger },
    transaction?: unknown,
  ) {
    const h = envelope.headers;
    // The headers carry id, correlation id and trace context: they are the causation as they are.
    super(parts, h);
    this.headers = h;
    this.service = scope.service;
    this.handler = handler.id;
    this.signal = scope.signal;
    this.logger = scope.logger;
    this.transaction = transaction;
  }
}
