import { type Context, createTraceState, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';

/**
 * W3C trace context (`traceparent`, `tracestate`) to and from the API's
 * SpanContext. Core writes and reads the `ce-traceparent` / `ce-tracestate`
 * attributes itself (they are part of the wire format), so traces propagate
 * across services whatever global propagator the application configured.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote span context in `traceparent` (and `tracestate`), or undefined when absent or malformed. */
export function parseTraceparent(traceparent: string | undefined, tracestate?: string): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16),
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** `traceparent` text of a span context. */
export function formatTraceparent(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** `parent` with the remote span context of `traceparent` as its active span (unchanged when there is none). */
export function withRemoteParent(parent: Context, traceparent: string | undefined, tracestate?: string): Context {
  const remote = parseTraceparent(traceparent, tracestate);
  return remote === undefined ? parent : trace.setSpanContext(parent, remote);
}

/** The trace id of a `traceparent`, for log lines; undefined when absent or malformed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  return TRACEPARENT.exec(traceparent)?.[1];
}
