import { type Context, context, isSpanContextValid, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { SendOrigin } from '../bus/dispatcher.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { SendTarget } from './send-target.js';
import { failSpan } from './span-failure.js';
import { formatTraceparent, withRemoteParent } from './trace-context.js';

/** A producer span in flight and the outbound message carrying its context. @internal */
export interface ProducerSpan {
  readonly span: Span;
  readonly outbound: OutboundMessage;
  readonly target: SendTarget;
}

/**
 * Start the PRODUCER span (`send <service>` / `publish <routing key>`) of one
 * outbound message to `target` on `tracer`, for `service`. Its parent: for
 * `replay` and `outbox`, the trace the message already carries (the original
 * trace); otherwise the active span, or else the trace the message carries
 * (the handled message's, inside a handler), or else none.
 *
 * Returns undefined when the span has neither a recording nor a valid context
 * (the API's no-op tracer): the message goes out as it is. Otherwise the
 * returned outbound is a copy whose `ce-traceparent`/`ce-tracestate` carry the
 * span's context, also when the sampler dropped the span (sampled flag off, so
 * the consumers' ParentBased samplers drop theirs); `outbound` itself is not
 * modified. The caller ends the span with {@link endProducerSpan}, once.
 * Called per message sent while tracing: one span, one headers copy, no closure.
 * @internal
 */
export function startProducerSpan(
  tracer: Tracer,
  service: string,
  target: SendTarget,
  outbound: OutboundMessage,
  origin: SendOrigin,
): ProducerSpan | undefined {
  const message = outbound.message;
  const headers = message.headers;
  const active = context.active();
  const parent: Context =
    origin === 'replay' || origin === 'outbox' || trace.getSpan(active) === undefined
      ? withRemoteParent(active, headers['ce-traceparent'], headers['ce-tracestate'])
      : active;
  const span = tracer.startSpan(
    target.spanName,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        // Known from the second message to a service on (undefined, skipped, before): set at the start, not
        // by one more setAttribute at the end (the SDK checks each attribute, at a cost per call).
        'messaging.system': target.knownSystem,
        'messaging.operation.type': 'send',
        'messaging.operation.name': target.operation,
        'messaging.destination.name': target.name,
        'messaging.message.id': message.id,
        'messaging.message.conversation_id': headers['ce-correlationid'] ?? '',
        'switchyard.message.type': headers['ce-type'] ?? '',
        'switchyard.origin': origin,
        'switchyard.service': service,
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  // A span the sampler dropped still carries its context out (sampled flag off), so that a
  // ParentBased sampler downstream follows this decision instead of sampling the trace anew.
  if (!span.isRecording() && !isSpanContextValid(spanContext)) return undefined;
  // Copied with Object.assign, not a spread: in V8 `{ ...headers, newKey }` gives every copy a
  // hidden class of its own, and every later read of the headers (decode) went several times slower.
  const traced: Record<string, string> = Object.assign({}, headers);
  traced['ce-traceparent'] = formatTraceparent(spanContext);
  const state = spanContext.traceState?.serialize();
  if (state) traced['ce-tracestate'] = state;
  else if (traced['ce-tracestate'] !== undefined) delete traced['ce-tracestate'];
  return { span, target, outbound: { destination: outbound.destination, message: { ...message, headers: traced } } };
}

/**
 * End a producer span: ok, or failed with `error` (see {@link failSpan}).
 * `systems`: the transport names the message went to, asked only while the
 * target's `messaging.system` is not known yet (once per command destination,
 * whose route does not change; per message for events). Not idempotent: call
 * once per started span. Throws nothing of its own.
 * @internal
 */
export function endProducerSpan(producer: ProducerSpan, systems: () => readonly string[], error?: unknown): void {
  const { span } = producer;
  if (producer.target.knownSystem === undefined) {
    const system = producer.target.system(systems);
    if (system !== '') span.setAttribute('messaging.system', system);
  }
  if (error !== undefined) failSpan(span, error);
  span.end();
}
