import { describe, expect, it } from 'vitest';
import { deliveryRun, fixedClock, recorded, registration, runFor, silentLogger } from '../../../test/stage-fixtures.js';
import { ErrorCode, HandlerError, PoisonMessageError, TransportError } from '../../errors.js';
import { InMemoryDeadLetterStore } from '../../resilience/memory-stores.js';
import type { DeadLetterStore } from '../../resilience/stores.js';
import { deadLetterStage } from './dead-letter.js';
import type { HandlerRun } from './pipeline.js';

const setup = (store: DeadLetterStore = new InMemoryDeadLetterStore()) => {
  const { observers, seen } = recorded();
  const parts = { service: 'svc', store, observers, clock: fixedClock(), logger: silentLogger };
  return { store, seen, stage: deadLetterStage<HandlerRun>(parts), parts };
};

describe('dead-letter stage', () => {
  it('stores what a later stage rejects, with handler and attempts, and ends the run normally', async () => {
    const { store, seen, stage } = setup();
    const { handler } = registration();
    const run = runFor(handler);
    await stage.wrap(() => {
      throw new HandlerError(handler.id, new Error('boom'));
    })(run);
    const [record] = await store.list();
    expect(record).toMatchObject({
      service: 'svc',
      handler: handler.id,
      channel: 'svc',
      attempts: 1,
      reason: { code: ErrorCode.HandlerFailed, message: expect.stringContaining('boom') },
    });
    // The message as received: equal bytes and headers (the in-memory store keeps a pooled body as its own copy).
    expect(record?.message).toEqual(run.delivery.message);
    expect(run.outcome).toBe('deadLettered');
    expect(seen.deadLettered).toHaveLength(1);
  });

  it('stores an asynchronous rejection too; before decoding, attempts are the delivery count', async () => {
    const { store } = setup();
    const stage = deadLetterStage(setup(store).parts);
    const run = deliveryRun();
    await stage.wrap(() => Promise.reject(new PoisonMessageError(ErrorCode.Decode, 'garbage')))(run);
    expect(await store.list()).toMatchObject([{ reason: { code: ErrorCode.Decode }, attempts: 1 }]);
    expect((await store.list())[0]?.handler).toBeUndefined();
  });

  it('lets infrastructure failures through untouched, storing nothing', async () => {
    const { store, stage } = setup();
    const down = new TransportError(ErrorCode.SendFailed, 'broker down');
    expect(() =>
      stage.wrap(() => {
        throw down;
      })(runFor(registration().handler)),
    ).toThrow(down);
    expect(await store.count()).toBe(0);
  });

  it('fails the run when the store cannot keep the record, so the delivery is nacked', async () => {
    const broken = new InMemoryDeadLetterStore();
    broken.add = () => Promise.reject(new Error('disk full'));
    const { stage } = setup(broken);
    const run = runFor(registration().handler);
    await expect(
      stage.wrap(() => {
        throw new HandlerError('h', new Error('boom'));
      })(run),
    ).rejects.toThrow('disk full');
    expect(run.outcome).toBeUndefined();
  });
});
