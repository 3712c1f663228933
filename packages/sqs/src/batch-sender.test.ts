import { ErrorCode } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { type BatchCall, type BatchItem, chunk, MAX_BATCH_BYTES, sendAll } from './batch-sender.js';

const items = (n: number, bytes = 10): BatchItem<string>[] =>
  Array.from({ length: n }, (_, i) => ({ id: `m${i}`, bytes, entry: `m${i}` }));

const options = { retries: 2, sequential: false, what: 'send to queue q', backoffMs: () => 1 };

describe('chunk', () => {
  it('cuts at 10 entries and at the batch byte limit, keeping order', () => {
    expect(chunk(items(25)).map((c) => c.length)).toEqual([10, 10, 5]);
    const big = items(3, MAX_BATCH_BYTES / 2);
    expect(chunk(big).map((c) => c.map((i) => i.id))).toEqual([['m0', 'm1'], ['m2']]);
  });
});

describe('sendAll', () => {
  it('re-sends only the entries refused on the server side, until accepted', async () => {
    const calls: string[][] = [];
    let refusals = 2;
    const call: BatchCall<string> = async (entries) => {
      calls.push([...entries]);
      const index = entries.indexOf('m3');
      if (index >= 0 && refusals-- > 0)
        return [{ index, senderFault: false, code: 'InternalError', message: 'try again' }];
      return [];
    };
    await sendAll(items(5), call, options);
    expect(calls).toEqual([['m0', 'm1', 'm2', 'm3', 'm4'], ['m3'], ['m3']]);
  });

  it('rejects with SY_SEND_FAILED naming an entry still refused after the last retry', async () => {
    const call: BatchCall<string> = async (entries) =>
      entries.includes('m1')
        ? [{ index: entries.indexOf('m1'), senderFault: false, code: 'ServiceUnavailable', message: 'busy' }]
        : [];
    const error = await sendAll(items(3), call, options).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.SendFailed });
    expect(String((error as Error).message)).toMatch(/1 of 3 .*m1 \(ServiceUnavailable: busy\)/);
  });

  it('does not retry a sender fault', async () => {
    let count = 0;
    const call: BatchCall<string> = async () => {
      count++;
      return [{ index: 0, senderFault: true, code: 'InvalidParameterValue', message: 'too long' }];
    };
    await expect(sendAll(items(1), call, options)).rejects.toMatchObject({ code: ErrorCode.SendFailed });
    expect(count).toBe(1);
  });

  it('names every entry of a failed request, and in sequential mode the ones never sent', async () => {
    const call: BatchCall<string> = async () => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };
    const error = (await sendAll(items(12), call, { ...options, sequential: true }).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: ErrorCode.SendFailed });
    expect(error.message).toMatch(/12 of 12/);
    expect(error.message).toMatch(/socket hang up/);
    expect(error.cause).toBeInstanceOf(Error);
  });
});
