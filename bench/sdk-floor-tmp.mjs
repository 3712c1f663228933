import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

let exported = 0;
const provider = new TracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({
      exporter: {
        export: (s, done) => {
          exported += s.length;
          done({ code: 0 });
        },
        shutdown: async () => {},
      },
    }),
  ],
});
const tracer = provider.getTracer('x');
const mp = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: { export: (_m, d) => d({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} },
      exportIntervalMillis: 1000,
    }),
  ],
});
const hist = mp.getMeter('x').createHistogram('h');
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const attrs = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`messaging.attr${i}`, `value-${i}`]));
async function measure(label, n, fn) {
  for (let i = 0; i < 20000; i++) fn(i);
  await new Promise((r) => setTimeout(r, 50));
  const c = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    fn(i);
    if (i % 512 === 511) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 10));
  const d = process.cpuUsage(c);
  console.log(label.padEnd(40), ((d.user + d.system) / n).toFixed(2), 'µs CPU each');
}
const N = 200000;
for (const k of [0, 6, 10]) {
  const a = attrs(k);
  await measure(`span start+end, ${k} attrs`, N, () =>
    tracer.startSpan('process x', { kind: SpanKind.CONSUMER, attributes: a }).end(),
  );
}
const parent = tracer.startSpan('p');
const pctx = trace.setSpan(context.active(), parent);
{
  const a = attrs(10);
  await measure('child span, 10 attrs', N, () =>
    tracer.startSpan('process x', { kind: SpanKind.CONSUMER, attributes: a }, pctx).end(),
  );
}
{
  const a = attrs(4);
  await measure('histogram.record 4 attrs', N, () => hist.record(0.001, a));
}
await measure('context.with (ALS)', N, () => context.with(pctx, () => 1));
await measure('Promise.resolve().then (ALS on)', N, () => Promise.resolve().then(() => 1));
console.log('exported', exported);
process.exit(0);
