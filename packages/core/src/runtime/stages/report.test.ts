import { describe, expect, it } from 'vitest';
import { recorded, registration, runFor } from '../../../test/stage-fixtures.js';
import type { HandlerRun } from './pipeline.js';
import { reportStage } from './report.js';

describe('report stage', () => {
  it('reports handled runs, with their duration, after the rest of the pipeline', async () => {
    const { observers, seen } = recorded();
    const run = runFor(registration().handler);
    const step = reportStage(observers).wrap((r: HandlerRun) =>
      Promise.resolve().then(() => {
        expect(seen.handled).toHaveLength(0);
        r.outcome = 'handled';
        r.durationMs = 2;
      }),
    );
    await step(run);
    expect(seen.handled).toEqual([{ handler: run.handler.id, envelope: run.envelope, durationMs: 2 }]);
  });

  it('reports nothing for duplicates, retries and dead letters', () => {
    const { observers, seen } = recorded();
    for (const outcome of ['duplicate', 'retried', 'deadLettered'] as const) {
      reportStage(observers).wrap((r: HandlerRun) => {
        r.outcome = outcome;
        return undefined;
      })(runFor(registration().handler));
    }
    expect(seen.handled).toHaveLength(0);
  });
});
