import { describe, expect, it, vi } from 'vitest';
import { delivery, deliveryRun, fixedClock, message } from '../../../test/stage-fixtures.js';
import { ErrorCode, PoisonMessageError } from '../../errors.js';
import { decodeStage } from './decode.js';

describe('decode stage', () => {
  it('puts the decoded envelope on the run and goes on', () => {
    const run = deliveryRun(delivery(message({ payload: { n: 7 } })));
    const next = vi.fn(() => undefined);
    decodeStage(1_000_000, fixedClock()).wrap(next)(run);
    expect(run.envelope?.payload).toEqual({ n: 7 });
    expect(run.envelope?.headers.name).toBe('test.ping');
    expect(next).toHaveBeenCalledWith(run);
  });

  it('rejects oversize and unsafe input as poison, without going on', () => {
    const next = vi.fn(() => undefined);
    expect(() => decodeStage(10, fixedClock()).wrap(next)(deliveryRun())).toThrow(
      expect.objectContaining({ code: ErrorCode.TooLarge }),
    );
    const base = message();
    const unsafe = { ...base, body: new TextEncoder().encode('{"__proto__":{"x":1}}') };
    expect(() => decodeStage(1_000_000, fixedClock()).wrap(next)(deliveryRun(delivery(unsafe)))).toThrow(
      PoisonMessageError,
    );
    expect(next).not.toHaveBeenCalled();
  });
});
