import { describe, expect, it, vi } from 'vitest';
import { delivery, fixedClock, message, recorded, registration, runFor } from '../../../test/stage-fixtures.js';
import { ErrorCode, HandlerError } from '../../errors.js';
import { Header } from '../../message/codec.js';
import type { OutboundMessage } from '../../message/outbound.js';
import { retryStage } from './retry.js';

const failing = () => {
  throw new Error('boom');
};

const setup = (dispatch = vi.fn(async (_outbound: OutboundMessage, _origin?: string) => undefined)) => {
  const { observers, seen } = recorded();
  const clock = fixedClock();
  const signal = new AbortController();
  const stage = retryStage({ service: 'svc', dispatcher: { dispatch }, clock, observers, signal: signal.signal });
  return { stage, dispatch, seen, clock, stop: () => signal.abort() };
};

describe('retry stage', () => {
  it('re-sends a copy to this service for the failed handler only, attempt + 1, due after the backoff', async () => {
    const { stage, dispatch, seen, clock } = setup();
    const { handler } = registration(undefined, { retry: { initialDelayMs: 1_000, jitter: 0 } });
    const run = runFor(handler);
    await stage.wrap(failing)(run);
    expect(dispatch).toHaveBeenCalledOnce();
    const [outbound, origin] = dispatch.mock.calls[0] ?? [];
    expect(origin).toBe('retry');
    expect(outbound?.destination).toEqual({ kind: 'send', service: 'svc' });
    expect(outbound?.message.id).toBe(run.delivery.message.id);
    expect(outbound?.message.headers[Header.attempt]).toBe('2');
    expect(outbound?.message.headers[Header.targetHandler]).toBe(handler.id);
    expect(outbound?.message.deliverAt).toBe(clock.now() + 1_000);
    expect(run.outcome).toBe('retried');
    expect(seen.retried).toMatchObject([{ handler: handler.id, nextAttempt: 2, delayMs: 1_000 }]);
  });

  it('gives up with a HandlerError after the last attempt, or at once for an error the policy will not retry', () => {
    const { stage, dispatch } = setup();
    const last = message();
    const lastAttempt = delivery({ ...last, headers: { ...last.headers, [Header.attempt]: '4' } });
    expect(() => stage.wrap(failing)(runFor(registration().handler, lastAttempt))).toThrow(HandlerError);
    const { handler } = registration(undefined, { retry: { retryable: () => false } });
    expect(() => stage.wrap(failing)(runFor(handler))).toThrow(
      expect.objectContaining({ code: ErrorCode.HandlerFailed, handler: handler.id }),
    );
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('neither retries nor dead-letters a handler that failed because the service stopped', () => {
    const { stage, dispatch, stop } = setup();
    stop();
    expect(() => stage.wrap(failing)(runFor(registration().handler))).toThrow('boom');
    expect(() => stage.wrap(failing)(runFor(registration().handler))).not.toThrow(HandlerError);
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('fails the run when the re-send fails, so the original comes back', async () => {
    const { stage } = setup(vi.fn(() => Promise.reject(new Error('broker down'))));
    const run = runFor(registration().handler);
    await expect(stage.wrap(failing)(run)).rejects.toThrow('broker down');
    expect(run.outcome).toBeUndefined();
  });

  it('passes a successful run through untouched', () => {
    const { stage } = setup();
    expect(stage.wrap(() => undefined)(runFor(registration().handler))).toBeUndefined();
  });
});
