/** The message model: a payload plus headers, the same for every kind and every transport. */

/** What a message is for. */
export type MessageKind = 'command' | 'event' | 'query' | 'reply' | 'message';

/** Every {@link MessageKind}: what a decoder accepts in `ce-kind`. */
export const MESSAGE_KINDS: readonly MessageKind[] = ['command', 'event', 'query', 'reply', 'message'];

/**
 * Headers of a message. Everything the framework needs to route, trace and
 * retry a message lives here; the payload is only the user's data.
 */
export interface MessageHeaders {
  /** UUIDv7, unique per message; kept across retries of the same message. */
  readonly id: string;
  /** The message name and routing key, e.g. `order.placed`. */
  readonly name: string;
  readonly kind: MessageKind;
  /** Name of the service that sent it. */
  readonly source: string;
  /** For commands, queries and plain messages: the service it is addressed to. */
  readonly targetService?: string;
  /** For plain messages: the named endpoint inside the target service (wire attribute `channel`). */
  readonly endpoint?: string;
  /** Shared by every message of one flow; copied from the message being handled. */
  readonly correlationId: string;
  /** Id of the message being handled when this one was sent. */
  readonly causationId?: string;
  /** Where a reply should go (a service name). */
  readonly replyTo?: string;
  /** ISO 8601 time the message was created. */
  readonly time: string;
  readonly contentType: string;
  /** 1 for the first delivery attempt; incremented by each delayed retry. */
  readonly attempt: number;
  /** W3C trace context. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Set on a retry or a replay: only this handler of the receiving service runs. */
  readonly targetHandler?: string;
  /** Epoch ms before which the message must not be handled. */
  readonly deliverAt?: number;
  /** Ordering key: same-key messages keep their order where the transport supports it. */
  readonly orderingKey?: string;
  /** CloudEvents `dataschema`: the contract version the payload was written with (`urn:switchyard:<name>:v<n>`). */
  readonly dataSchema?: string;
  /** User metadata; keys are CloudEvents extension names (lowercase letters and digits). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A payload with its headers. */
export interface Envelope<T = unknown> {
  readonly headers: MessageHeaders;
  readonly payload: T;
}
