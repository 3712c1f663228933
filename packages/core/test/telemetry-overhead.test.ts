import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../src/message/outbound.js';
import { compose, type HandlerRun, type Stage } from '../src/runtime/stages/pipeline.js';
import { processStage } from '../src/telemetry/process-stage.js';
import { Telemetry } from '../src/telemetry/telemetry.js';
import { message, registration, runFor } from './stage-fixtures.js';

/**
 * The cost of telemetry when the application installed no OpenTelemetry SDK:
 * the process stage, the producer hook and the active-trace lookup on the API's no-op tracer and
 * meter, per message, against the same pipeline without them. Best of several
 * rounds, so a loaded machine does not fail it; the budget is 0.3 µs.
 */
describe('telemetry without an SDK', () => {
  it('costs less than 0.3 µs per message (process stage + producer hook)', () => {
    const telemetry = new Telemetry('overhead');
    const finish: Stage<HandlerRun> = {
      name: 'invoke',
      wrap: () => (run) => {
        run.outcome = 'handled';
        return undefined;
      },
    };
    const bare = compose([finish]);
    const traced = compose([processStage(telemetry, 'memory'), finish]);
    const outbound: OutboundMessage = { destination: { kind: 'send', service: 'svc' }, message: message() };
    const run = runFor(registration().handler);
    const rounds = 7;
    const n = 200_000;
    const time = (body: () => void): number => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) body();
      return Number(process.hrtime.bigint() - started) / n / 1_000; // µs per message
    };
    const bareBody = () => {
      bare(run);
    };
    const tracedBody = () => {
      traced(run);
      trace.getActiveSpan(); // what building an outgoing message adds (the active trace)
      telemetry.startProducer(outbound, 'send');
    };
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < rounds; round++) {
      const overhead = time(tracedBody) - time(bareBody);
      best = Math.min(best, overhead);
    }
    expect(telemetry.tracing).toBe(false);
    expect(telemetry.measuring).toBe(false);
    expect(best).toBeLessThan(0.3);
    console.log(`telemetry without an SDK: ${(best * 1000).toFixed(1)} ns per message (best of ${rounds} rounds)`);
  });
});
