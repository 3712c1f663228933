import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TelemetryOptions } from '@switchyard/core';

/**
 * `--telemetry off|api|sdk` of the benchmark: `off` turns Switchyard's
 * telemetry off (no OpenTelemetry API call at all); `api` (default) is what an
 * application without an SDK gets: the API's no-op tracer and meter; `sdk`
 * installs the OpenTelemetry SDK globally with a batching span processor and a
 * periodic metric reader whose exporters drop what they get (the export
 * pipeline runs, nothing leaves the process). For finding where the SDK's
 * cost goes, `BENCH_NO_TRACES=1`, `BENCH_NO_METRICS=1` and
 * `BENCH_NO_CONTEXT_MANAGER=1` leave out one part of it in `sdk` mode.
 */
export type TelemetryMode = 'off' | 'api' | 'sdk';

let mode: TelemetryMode = 'api';

/** Set the mode for the services the benchmark creates from now on. */
export function setTelemetryMode(value: string | undefined): TelemetryMode {
  if (value === undefined) return mode;
  if (value !== 'off' && value !== 'api' && value !== 'sdk')
    throw new Error(`--telemetry: off, api or sdk, got ${value}`);
  mode = value;
  if (mode === 'sdk') installSdk();
  return mode;
}

/** The `telemetry` option of a benchmark service in the current mode. */
export function benchTelemetry(): { telemetry?: TelemetryOptions | false } {
  return mode === 'off' ? { telemetry: false } : {};
}

export let exportedSpans = 0;

function installSdk(): void {
  const spanExporter: SpanExporter = {
    export: (spans, done) => {
      exportedSpans += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  if (process.env.BENCH_NO_TRACES !== '1')
    trace.setGlobalTracerProvider(
      new TracerProvider({
        spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter, maxQueueSize: 65_536 })],
      }),
    );
  const metricExporter: PushMetricExporter = {
    export: (_metrics, done) => done({ code: 0 }),
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  if (process.env.BENCH_NO_METRICS !== '1')
    metrics.setGlobalMeterProvider(
      new MeterProvider({
        readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1_000 })],
      }),
    );
  if (process.env.BENCH_NO_CONTEXT_MANAGER !== '1')
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
