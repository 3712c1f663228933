import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { withTimeout } from './with-timeout.js';

describe('withTimeout', () => {
  it('settles as the promise does when it is in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'seven')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('no')), 1_000, 'a failure')).rejects.toThrow('no');
  });

  it('rejects with SY_TIMEOUT naming what it waited for when the promise is late', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 10, 'the broker')).rejects.toMatchObject({
      code: ErrorCode.Timeout,
      message: 'timed out after 10 ms waiting for the broker',
    });
  });
});
