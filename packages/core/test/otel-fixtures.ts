import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * OpenTelemetry SDK wired to in-memory exporters, for tests: pass `tracerProvider`
 * and `meterProvider` to `createService({ telemetry })`, then read `spans()` and
 * `metric(name)`. Installs the AsyncLocalStorage context manager globally once.
 */
export function otelFixture() {
  ensureContextManager();
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    telemetry: { tracerProvider, meterProvider },
    spans: (): ReadableSpan[] => spanExporter.getFinishedSpans(),
    /** Data points of the metric `name` at this moment (cumulative). */
    async metric(name: string): Promise<DataPoint<unknown>[]> {
      metricExporter.reset();
      await reader.forceFlush();
      const points: DataPoint<unknown>[] = [];
      for (const resource of metricExporter.getMetrics())
        for (const scope of resource.scopeMetrics)
          for (const metric of scope.metrics)
            if (metric.descriptor.name === name) points.push(...(metric.dataPoints as DataPoint<unknown>[]));
      return points;
    },
    /** Sum of a counter's values over the data points whose attributes include `where`. */
    async sum(name: string, where: Record<string, unknown> = {}): Promise<number> {
      const points = await this.metric(name);
      return points
        .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
        .reduce((total, point) => total + (typeof point.value === 'number' ? point.value : 0), 0);
    },
    async shutdown(): Promise<void> {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

let installed = false;
function ensureContextManager(): void {
  if (installed) return;
  installed = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** Spans printed as an indented tree (name, kind, outcome), children under their parent, for failure messages. */
export function spanTree(spans: readonly ReadableSpan[]): string {
  const byParent = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    byParent.set(key, [...(byParent.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of byParent.get(parent) ?? []) {
      lines.push(`${'  '.repeat(depth)}${span.name} [${String(span.attributes['switchyard.outcome'] ?? '')}]`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}
