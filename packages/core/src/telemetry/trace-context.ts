import {
  type Context,
  createTraceState,
  INVALID_SPANID,
  INVALID_TRACEID,
  type SpanContext,
  trace,
} from '@opentelemetry/api';

/**
 * W3C trace context (`traceparent`, `tracestate`) to and from the API's
 * SpanContext. Core writes and reads the `ce-traceparent` / `ce-tracestate`
 * attributes itself (they are part of the wire format), so traces propagate
 * across services whatever global propagator the application configured.
 */

/** Version 00 of W3C trace context: exactly 55 characters, so the ids sit at fixed offsets. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The remote span context in `traceparent` (and `tracestate`), or undefined when absent or malformed. */
export function parseTraceparent(traceparent: string | undefined, tracestate?: string): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  // test + slices: no match array and groups per message (this runs for every delivery).
  if (!TRACEPARENT.test(traceparent)) return undefined;
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  // The pattern checked the form; all-zero ids are the only invalid ones left (W3C trace context).
  if (traceId === INVALID_TRACEID || spanId === INVALID_SPANID) return undefined;
  const traceFlags = Number.parseInt(traceparent.slice(53, 55), 16);
  return tracestate
    ? { traceId, spanId, traceFlags, isRemote: true, traceState: createTraceState(tracestate) }
    : { traceId, spanId, traceFlags, isRemote: true };
}

/** `traceparent` text of a span context. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = spanContext.traceFlags & 0xff;
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags < 16 ? FLAGS[flags] : flags.toString(16)}`;
}

/** The two hex digits of trace flags below 16 (in practice 00 and 01), without formatting per message. */
const FLAGS = Array.from({ length: 16 }, (_, flags) => flags.toString(16).padStart(2, '0'));

/** `parent` with the remote span context of `traceparent` as its active span (unchanged when there is none). */
export function withRemoteParent(parent: Context, traceparent: string | undefined, tracestate?: string): Context {
  const remote = parseTraceparent(traceparent, tracestate);
  return remote === undefined ? parent : trace.setSpanContext(parent, remote);
}

/** The trace id of a `traceparent`, for log lines; undefined when absent or malformed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  return TRACEPARENT.test(traceparent) ? traceparent.slice(3, 35) : undefined;
}
