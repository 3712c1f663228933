import { describe, expect, it } from 'vitest';
import type { BatchCall, BatchItem } from './batch-sender.js';
import { SendCoalescer } from './send-coalescer.js';

const item = (id: string): BatchItem<string> => ({ id, bytes: 10, entry: id });
const options = { retries: 0, sequential: false, what: 'send to queue q' };

/** A batch call whose answers the test releases one by one. */
function heldCalls() {
  const calls: { entries: string[]; answer: () => void }[] = [];
  const call: BatchCall<string> = (entries) =>
    new Promise((resolve) => calls.push({ entries: [...entries], answer: () => resolve([]) }));
  return { calls, call };
}

describe('SendCoalescer', () => {
  it('sends a backlog as calls of up to 10 entries, 8 at once, and settles each sender with its own call', async () => {
    const { calls, call } = heldCalls();
    const coalescer = new SendCoalescer(call, options);
    const settled = new Set<string>();
    const ids = Array.from({ length: 200 }, (_, i) => `m${i}`);
    for (const id of ids) void coalescer.submit([item(id)]).then(() => settled.add(id));

    await expect.poll(() => calls.length).toBe(8);
    expect(calls.map((c) => c.entries)).toEqual(Array.from({ length: 8 }, (_, i) => ids.slice(i * 10, i * 10 + 10)));
    calls[0]?.answer();
    // The first call's senders are done while the other calls are still out, and its slot goes to the next entries.
    await expect.poll(() => settled.size).toBe(10);
    expect([...settled]).toEqual(ids.slice(0, 10));
    await expect.poll(() => calls.length).toBe(9);
    expect(calls[8]?.entries).toEqual(ids.slice(80, 90));
  });

  it('sends a submission larger than one call alone, in chunks', async () => {
    const { calls, call } = heldCalls();
    const coalescer = new SendCoalescer(call, options);
    const big = Array.from({ length: 25 }, (_, i) => item(`b${i}`));
    const done = coalescer.submit(big);
    void coalescer.submit([item('after')]);
    await expect.poll(() => calls.length).toBe(4);
    expect(calls.map((c) => c.entries.length).sort()).toEqual([1, 10, 10, 5].sort());
    for (const c of calls) c.answer();
    await done;
  });
});
