import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** One finished span as the shop passes it between processes (`--trace`). */
export interface SpanReport {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: 'producer' | 'consumer' | 'internal';
  readonly service: string;
  readonly startMs: number;
  readonly durationMs: number;
  /** `switchyard.outcome` of a consumer span (handled, retried, deadLettered, …). */
  readonly outcome?: string;
  readonly handler?: string;
}

/**
 * Install the OpenTelemetry SDK in this process for `--trace`: the
 * AsyncLocalStorage context manager and a tracer provider whose simple span
 * processor hands every finished span to `sink` as a {@link SpanReport}
 * (service processes forward them to the launcher over IPC). Returns the
 * in-memory exporter that also keeps them.
 */
export function installTracing(service: string, sink?: (spans: SpanReport[]) => void): InMemorySpanExporter {
  const memory = new InMemorySpanExporter();
  const forward: SpanExporter = {
    export(spans, done) {
      sink?.(spans.map((span) => toReport(service, span)));
      memory.export(spans, done);
    },
    shutdown: () => memory.shutdown(),
  };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: forward })] }),
  );
  return memory;
}

/** A finished span as a report of `service`. */
export function toReport(service: string, span: ReadableSpan): SpanReport {
  const [seconds, nanos] = span.startTime;
  const [durationSeconds, durationNanos] = span.duration;
  const outcome = span.attributes['switchyard.outcome'];
  const handler = span.attributes['switchyard.handler'];
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: span.kind === SpanKind.PRODUCER ? 'producer' : span.kind === SpanKind.CONSUMER ? 'consumer' : 'internal',
    service,
    startMs: seconds * 1_000 + nanos / 1e6,
    durationMs: durationSeconds * 1_000 + durationNanos / 1e6,
    ...(typeof outcome === 'string' ? { outcome } : {}),
    ...(typeof handler === 'string' ? { handler } : {}),
  };
}

/**
 * The spans of one trace as an indented tree, children under their parent in
 * start order: `service  span  duration  outcome`.
 */
export function traceTree(spans: readonly SpanReport[], traceId: string): string[] {
  const ofTrace = spans.filter((span) => span.traceId === traceId).sort((a, b) => a.startMs - b.startMs);
  const ids = new Set(ofTrace.map((span) => span.spanId));
  const children = new Map<string | undefined, SpanReport[]>();
  for (const span of ofTrace) {
    const parent = span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const span of children.get(parent) ?? []) {
      const what = span.kind === 'consumer' ? `${span.name} → ${span.handler ?? '?'}` : span.name;
      const outcome = span.outcome ? `  ${span.outcome}` : '';
      lines.push(`${'  '.repeat(depth)}${span.service}  ${what}  ${span.durationMs.toFixed(1)} ms${outcome}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}
