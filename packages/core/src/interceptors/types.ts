import type { SendOrigin } from '../bus/dispatcher.js';
import type { MessageHeaders } from '../message/envelope.js';
import type { Destination } from '../message/outbound.js';

/**
 * What a send interceptor sees of one outgoing message. `metadata` (user
 * metadata, CloudEvents extensions) may be changed: keys added, changed or
 * deleted; the message goes out with the metadata as it is when the innermost
 * `next` runs. Keys must be valid metadata keys (1-20 lowercase letters or
 * digits, not a reserved attribute), else the send rejects with SY_SEND_REJECTED.
 */
export interface SendContext {
  /** The sending service. */
  readonly service: string;
  /** Why it is sent: `send`, `retry`, `replay`, `enqueue` or `outbox`. */
  readonly origin: SendOrigin;
  readonly destination: Destination;
  readonly messageId: string;
  /** Message name (`order.placed`). */
  readonly name: string;
  readonly correlationId: string;
  /** User metadata; mutable. */
  readonly metadata: Record<string, string>;
}

/**
 * Around a send: call `next()` once to send (it resolves when the broker
 * confirmed, and rejects with the send's error). Throwing (or rejecting)
 * before `next` refuses the message: the send rejects with a
 * `SendRejectedError` (SY_SEND_REJECTED, `cause` = what was thrown; a
 * SwitchyardError is passed on as it is). Not calling `next` also refuses it.
 * Sync or async.
 */
export type SendInterceptor = (context: SendContext, next: () => Promise<void>) => void | Promise<void>;

/** What a handle interceptor sees of one handler invocation. */
export interface HandleContext {
  readonly service: string;
  /** The handler's id. */
  readonly handler: string;
  /** Headers of the message (id, name, correlation id, attempt, metadata, trace). */
  readonly headers: MessageHeaders;
  /** The validated payload the handler gets. */
  readonly payload: unknown;
  /** Delivery attempt: 1, then +1 per delayed retry. */
  readonly attempt: number;
  /** Retries in place made so far in this delivery (0 for the first invocation). */
  readonly instantRetry: number;
}

/**
 * Around each handler invocation, retries in place included (so a
 * transaction opened here covers exactly one invocation): call `next()` once
 * to run the handler; it rejects with what the handler threw. What the
 * interceptor throws counts as a handler failure (retried, then the final
 * failure strategy). Not calling `next` skips the handler and the run ends
 * handled (acked). Sync or async.
 */
export type HandleInterceptor = (context: HandleContext, next: () => Promise<void>) => void | Promise<void>;

/** An interceptor for `service.use(...)`: around sends, around handler invocations, or both. */
export interface Interceptor {
  /** For logs and error messages. */
  readonly name?: string;
  readonly send?: SendInterceptor;
  readonly handle?: HandleInterceptor;
}
