import { type Attributes, context, type Histogram, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TelemetryOptions } from '@switchyard/core';

/**
 * `--telemetry off|api|sdk|sdk-floor` of the benchmark: `off` turns
 * Switchyard's telemetry off (no OpenTelemetry API call at all); `api`
 * (default) is what an application without an SDK gets: the API's no-op
 * tracer and meter; `sdk` installs the OpenTelemetry SDK globally as an
 * application would (see {@link installSdk}); `sdk-floor` installs the same
 * SDK but turns Switchyard's telemetry off and has the benchmark itself make
 * the SDK calls Switchyard makes per message (a producer span and a consumer
 * span with as many attributes, the handler run inside the consumer span, one
 * histogram record): what the SDK alone costs in this workload, the floor
 * under `sdk`. For finding where the SDK's cost goes, `BENCH_NO_TRACES=1`,
 * `BENCH_NO_METRICS=1` and `BENCH_NO_CONTEXT_MANAGER=1` leave out one part of
 * it in `sdk` and `sdk-floor` modes.
 */
export type TelemetryMode = 'off' | 'api' | 'sdk' | 'sdk-floor';

let mode: TelemetryMode = 'api';

/** `value` as a mode; throws on anything else. */
export function parseTelemetryMode(value: string): TelemetryMode {
  if (value !== 'off' && value !== 'api' && value !== 'sdk' && value !== 'sdk-floor')
    throw new Error(`--telemetry: off, api, sdk or sdk-floor, got ${value}`);
  return value;
}

/** The mode set last (what the consumer thread of the `consumer-worker` layout must be set to as well). */
export function telemetryMode(): TelemetryMode {
  return mode;
}

/**
 * Set the mode for the services the benchmark creates from now on, in this
 * thread (the SDK is installed per thread: the consumer thread sets it too).
 */
export function setTelemetryMode(value: string | undefined): TelemetryMode {
  if (value === undefined) return mode;
  mode = parseTelemetryMode(value);
  if (mode === 'sdk' || mode === 'sdk-floor') installSdk();
  if (mode === 'sdk-floor') duration = metrics.getMeter('bench-floor').createHistogram('bench.floor.duration');
  return mode;
}

/** The `telemetry` option of a benchmark service in the current mode. */
export function benchTelemetry(): { telemetry?: TelemetryOptions | false } {
  return mode === 'off' || mode === 'sdk-floor' ? { telemetry: false } : {};
}

let duration: Histogram | undefined;
const floorTracer = () => trace.getTracer('bench-floor');
let seq = 0;

/**
 * `send()` inside a producer span of as many attributes as Switchyard's, in
 * `sdk-floor` mode; else just `send()`, with no extra promise (the peers'
 * sends do not pay one either).
 */
export function floorSend(send: () => Promise<void>): Promise<void> {
  return mode === 'sdk-floor' ? tracedSend(send) : send();
}

async function tracedSend(send: () => Promise<void>): Promise<void> {
  const span = floorTracer().startSpan('send bench-consumer', {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'bench-consumer',
      'messaging.message.id': `id-${++seq}`,
      'messaging.message.conversation_id': `id-${seq}`,
      'switchyard.message.type': 'bench.run',
      'switchyard.origin': 'send',
      'switchyard.service': 'bench-producer',
    },
  });
  await send();
  span.setAttribute('messaging.system', 'memory');
  span.end();
}

const handlerAttributes: Attributes = {
  'messaging.system': 'memory',
  'messaging.destination.name': 'bench-consumer',
  'messaging.consumer.group.name': 'bench-consumer',
  'switchyard.handler': 'bench.run',
  'switchyard.outcome': 'handled',
};

/** `handle()` inside a consumer span of as many attributes as Switchyard's and one histogram record, in `sdk-floor` mode. */
export function floorHandle(handle: () => void): void {
  if (mode !== 'sdk-floor') {
    handle();
    return;
  }
  const started = performance.now();
  const span = floorTracer().startSpan('process bench-consumer', {
    kind: SpanKind.CONSUMER,
    attributes: {
      'messaging.system': 'memory',
      'messaging.destination.name': 'bench-consumer',
      'messaging.consumer.group.name': 'bench-consumer',
      'switchyard.handler': 'bench.run',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': `id-${++seq}`,
      'messaging.message.conversation_id': `id-${seq}`,
      'switchyard.message.type': 'bench.run',
      'switchyard.attempt': 1,
    },
  });
  context.with(trace.setSpan(context.active(), span), handle);
  span.setAttribute('switchyard.outcome', 'handled');
  span.end();
  duration?.record((performance.now() - started) / 1000, handlerAttributes);
}

export let exportedSpans = 0;

/**
 * The SDK as an application would install it: a TracerProvider with the
 * default sampler (ParentBased(AlwaysOn): every span recorded and sampled)
 * and a BatchSpanProcessor with its default batch size, delay and queue
 * (512, 5 s, 2048) to an exporter that counts and drops the spans; a
 * MeterProvider with a PeriodicExportingMetricReader (1 s) to an exporter
 * that drops; the AsyncLocalStorage context manager.
 */
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
        spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter })],
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
