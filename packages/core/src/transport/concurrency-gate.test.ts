import { describe, expect, it } from 'vitest';
import { ConcurrencyGate } from './concurrency-gate.js';

describe('ConcurrencyGate', () => {
  it('tryAcquire takes free slots without a promise and refuses when full; release frees one', async () => {
    const gate = new ConcurrencyGate(2);
    expect([gate.tryAcquire(), gate.tryAcquire(), gate.tryAcquire()]).toEqual([true, true, false]);
    expect(gate.running).toBe(2);
    expect(gate.hasRoom).toBe(false);
    gate.release();
    expect(gate.hasRoom).toBe(true);
    expect(gate.tryAcquire()).toBe(true);
    gate.release();
    gate.release();
    expect(await gate.drain(1_000)).toBe(true);
  });

  it('a slot released while acquire waits goes to the waiter, not to tryAcquire', async () => {
    const gate = new ConcurrencyGate(1);
    expect(gate.tryAcquire()).toBe(true);
    const waiting = gate.acquire();
    gate.release();
    await waiting;
    expect(gate.tryAcquire()).toBe(false);
    gate.release();
    expect(gate.running).toBe(0);
  });
});
