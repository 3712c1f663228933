import { describe, expect, it, vi } from 'vitest';
import { recorded, registration, runFor } from '../../../test/stage-fixtures.js';
import { InMemoryInboxStore } from '../../resilience/memory-stores.js';
import type { InboxStore } from '../../resilience/stores.js';
import { dedupStage } from './dedup.js';
import type { HandlerRun, Step } from './pipeline.js';

const ending =
  (outcome: HandlerRun['outcome']) =>
  (run: HandlerRun): Step => {
    run.outcome = outcome;
    return undefined;
  };

describe('dedup stage', () => {
  it('records a handled run, then skips the same message for that handler as a duplicate', () => {
    const inbox = new InMemoryInboxStore();
    const { observers, seen } = recorded();
    const { handler } = registration();
    const first = runFor(handler);
    const next = vi.fn(ending('handled'));
    const step = dedupStage(inbox, observers).wrap(next);
    expect(step(first)).toBeUndefined();
    expect(inbox.isProcessed(handler.id, first.envelope.headers.id)).toBe(true);
    const again = runFor(handler, first.delivery);
    step(again);
    expect(next).toHaveBeenCalledOnce();
    expect(again.outcome).toBe('duplicate');
    expect(seen.duplicate).toEqual([{ handler: handler.id, envelope: again.envelope }]);
  });

  it('does not record runs that were retried or dead-lettered', () => {
    const inbox = new InMemoryInboxStore();
    const { handler } = registration();
    for (const outcome of ['retried', 'deadLettered'] as const) {
      const run = runFor(handler);
      dedupStage(inbox, recorded().observers).wrap(ending(outcome))(run);
      expect(inbox.isProcessed(handler.id, run.envelope.headers.id)).toBe(false);
    }
  });

  it('waits for an asynchronous inbox, and fails the run when it fails', async () => {
    const marked: string[] = [];
    const inbox: InboxStore = {
      isProcessed: async () => false,
      markProcessed: async (_handler, id) => void marked.push(id),
      prune: async () => 0,
    };
    const run = runFor(registration().handler);
    await dedupStage(inbox, recorded().observers).wrap(ending('handled'))(run);
    expect(marked).toEqual([run.envelope.headers.id]);
    const down: InboxStore = { ...inbox, isProcessed: () => Promise.reject(new Error('inbox down')) };
    const next = vi.fn(ending('handled'));
    await expect(dedupStage(down, recorded().observers).wrap(next)(run)).rejects.toThrow('inbox down');
    expect(next).not.toHaveBeenCalled();
  });
});
