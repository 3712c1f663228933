import { type Attributes, context, type Link, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { MessageHeaders } from '../message/envelope.js';
import { after, type HandlerRun, recover, type Stage, type Step } from '../runtime/stages/pipeline.js';
import { errorType, failSpan, type Telemetry } from './telemetry.js';
import { formatTraceparent, parseTraceparent } from './trace-context.js';

/**
 * The CONSUMER `process` span and the consumption metrics of one handler run:
 * the first stage of the handler pipeline, so it spans the whole run (inbox,
 * validation, retries in place, the handler) and sees its final outcome.
 *
 * The span is a child of the producer's context carried in `ce-traceparent`
 * (or, with `consumerSpans: 'link'`, a new trace linked to it). While it
 * records, the handler runs inside it (active context) and sees it as its
 * headers' `traceparent`, so whatever the handler sends is its child even
 * without a context manager. Attributes: `messaging.system`,
 * `messaging.operation.type`/`name` (`process`), `messaging.destination.name`
 * (the channel), `messaging.consumer.group.name` (the service),
 * `messaging.message.id`, `messaging.message.conversation_id` (correlation
 * id), `switchyard.handler`, `switchyard.attempt`, `switchyard.outcome`, and
 * `error.type` when the run failed.
 */
export function processStage(telemetry: Telemetry, system: string): Stage<HandlerRun> {
  const service = telemetry.service;
  const measuring = telemetry.measuring;
  return {
    name: 'process-telemetry',
    wrap: (next) => (run) => {
      // Without an SDK (no-op tracer, no-op meter) the stage costs two checks.
      if (!measuring && !telemetry.tracing) return next(run);
      const { delivery, handler } = run;
      const headers = run.envelope.headers;
      const instruments = telemetry.instruments;
      const attributes: Attributes = {
        'messaging.system': system,
        'messaging.destination.name': delivery.channel,
        'messaging.consumer.group.name': service,
        'switchyard.handler': handler.id,
      };
      const active = context.active();
      const remote = parseTraceparent(headers.traceparent, headers.tracestate);
      let parent = active;
      let links: Link[] | undefined;
      if (remote !== undefined) {
        if (telemetry.linkConsumers) links = [{ context: remote }];
        else parent = trace.setSpanContext(active, remote);
      }
      const span = telemetry.tracer.startSpan(
        `process ${delivery.channel}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': system,
            'messaging.destination.name': delivery.channel,
            'messaging.consumer.group.name': service,
            'switchyard.handler': handler.id,
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.message.id': headers.id,
            'messaging.message.conversation_id': headers.correlationId,
            'switchyard.message.type': headers.name,
            'switchyard.attempt': headers.attempt,
          },
          ...(links ? { root: true, links } : {}),
        },
        parent,
      );
      const recording = span.isRecording();
      // The delivery's other handlers must see the envelope as it came (their spans are siblings).
      const original = run.envelope;
      if (recording) {
        const spanContext = span.spanContext();
        const state = spanContext.traceState?.serialize();
        const traced: MessageHeaders = {
          ...headers,
          traceparent: formatTraceparent(spanContext),
          tracestate: state || (undefined as unknown as string),
        };
        run.envelope = { headers: traced, payload: run.envelope.payload };
        telemetry.spans.set(run.envelope, span);
      }
      const inFlight = instruments.inFlight;
      inFlight.set(handler.id, (inFlight.get(handler.id) ?? 0) + 1);
      const started = performance.now();
      const finish = (done: HandlerRun): Step => {
        done.envelope = original;
        end(telemetry, span, recording, done, attributes, started);
        return undefined;
      };
      const failed = (done: HandlerRun, error: unknown): Step => {
        done.envelope = original;
        if (recording) failSpan(span, error);
        end(telemetry, span, recording, done, attributes, started, errorType(error));
        throw error;
      };
      const inSpan = recording ? trace.setSpan(parent, span) : undefined;
      const step = recover(run, inSpan ? (r) => context.with(inSpan, next, undefined, r) : next, failed);
      return after(step, run, finish);
    },
  };
}

function end(
  telemetry: Telemetry,
  span: Span,
  recording: boolean,
  run: HandlerRun,
  attributes: Attributes,
  started: number,
  error?: string,
): void {
  const instruments = telemetry.instruments;
  const outcome = run.outcome ?? 'failed';
  const handler = run.handler.id;
  instruments.inFlight.set(handler, (instruments.inFlight.get(handler) ?? 1) - 1);
  const measured = instruments.consumed.add(`${handler}|${outcome}|${error ?? ''}`, () => ({
    ...attributes,
    'switchyard.outcome': outcome,
    ...(error !== undefined ? { 'error.type': error } : {}),
  }));
  instruments.duration.record((performance.now() - started) / 1000, measured);
  if (recording) {
    span.setAttribute('switchyard.outcome', outcome);
    span.end();
  }
}
