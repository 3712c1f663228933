import { context, type Link, SpanKind, trace } from '@opentelemetry/api';
import type { MessageHeaders } from '../message/envelope.js';
import { after, type HandlerRun, recover, type Stage, type Step } from '../runtime/stages/pipeline.js';
import { PROCESS_SPAN, type TracedEnvelope } from './process-span.js';
import type { ProcessTarget } from './process-target.js';
import { errorType, failSpan } from './span-failure.js';
import type { Telemetry } from './telemetry.js';
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
 *
 * What is constant per handler and channel (span name, attributes, metric
 * cells) is built once, in a {@link ProcessTarget}.
 */
export function processStage(telemetry: Telemetry, system: string): Stage<HandlerRun> {
  const targets = telemetry.targets;
  return {
    name: 'process-telemetry',
    wrap: (next) => (run) => {
      // Without an SDK (no-op tracer, no-op meter) the stage costs two checks.
      const measuring = telemetry.measuring;
      const tracing = telemetry.tracing;
      if (!measuring && !tracing) return next(run);
      const target = targets.get(system, run.delivery.channel, run.handler.id);
      const headers = run.envelope.headers;
      const active = context.active();
      let parent = active;
      let links: Link[] | undefined;
      if (tracing) {
        const remote = parseTraceparent(headers.traceparent, headers.tracestate);
        if (remote !== undefined) {
          if (telemetry.linkConsumers) links = [{ context: remote }];
          else parent = trace.setSpanContext(active, remote);
        }
      }
      const span = tracing
        ? telemetry.tracer.startSpan(
            target.spanName,
            {
              kind: SpanKind.CONSUMER,
              attributes: {
                'messaging.system': target.system,
                'messaging.destination.name': target.channel,
                'messaging.consumer.group.name': target.group,
                'switchyard.handler': target.handler,
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
          )
        : undefined;
      const recording = span?.isRecording() === true ? span : undefined;
      // The delivery's other handlers must see the envelope as it came (their spans are siblings).
      const original = run.envelope;
      if (recording !== undefined) {
        const spanContext = recording.spanContext();
        // Object.assign, not a spread plus a key: that gives each copy its own hidden class in V8.
        const traced: { -readonly [K in keyof MessageHeaders]: MessageHeaders[K] } = Object.assign({}, headers);
        traced.traceparent = formatTraceparent(spanContext);
        const state = spanContext.traceState?.serialize();
        if (state) traced.tracestate = state;
        else if (traced.tracestate !== undefined) traced.tracestate = undefined;
        const envelope: TracedEnvelope = { headers: traced, payload: run.envelope.payload, [PROCESS_SPAN]: recording };
        run.envelope = envelope;
      }
      target.inFlight++;
      const started = performance.now();
      const finish = (done: HandlerRun): Step => {
        done.envelope = original;
        end(telemetry, target, done, started, recording);
        return undefined;
      };
      const failed = (done: HandlerRun, error: unknown): Step => {
        done.envelope = original;
        if (recording !== undefined) failSpan(recording, error);
        end(telemetry, target, done, started, recording, errorType(error));
        throw error;
      };
      const inSpan = recording !== undefined ? trace.setSpan(parent, recording) : undefined;
      const step = recover(run, inSpan ? (r) => context.with(inSpan, next, undefined, r) : next, failed);
      return after(step, run, finish);
    },
  };
}

function end(
  telemetry: Telemetry,
  target: ProcessTarget,
  run: HandlerRun,
  started: number,
  span: ReturnType<Telemetry['tracer']['startSpan']> | undefined,
  error?: string,
): void {
  const outcome = run.outcome ?? 'failed';
  target.inFlight--;
  if (telemetry.measuring) {
    const instruments = telemetry.instruments;
    const cell = target.outcome(instruments.consumed, outcome, error);
    cell.value++;
    instruments.duration.record((performance.now() - started) / 1000, cell.attributes);
  }
  if (span !== undefined) {
    span.setAttribute('switchyard.outcome', outcome);
    span.end();
  }
}
