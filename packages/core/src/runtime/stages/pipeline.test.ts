import { describe, expect, it } from 'vitest';
import { after, compose, each, type Next, recover, type Stage, type Step, withValue } from './pipeline.js';

interface Trace {
  log: string[];
}

const stage = (name: string, async = false): Stage<Trace> => ({
  name,
  wrap: (next: Next<Trace>) => (run) => {
    run.log.push(`${name}>`);
    const step = async ? Promise.resolve().then(() => next(run)) : next(run);
    return after(step, run, (r) => void r.log.push(`<${name}`));
  },
});

describe('compose', () => {
  it('runs stages in order, first outermost, and stays synchronous when every stage is', () => {
    const run = { log: [] };
    const step = compose([stage('a'), stage('b'), stage('c')])(run);
    expect(step).toBeUndefined();
    expect(run.log).toEqual(['a>', 'b>', 'c>', '<c', '<b', '<a']);
  });

  it('continues on a promise from the first asynchronous stage, in the same order', async () => {
    const run = { log: [] };
    const step = compose([stage('a'), stage('b', true), stage('c')])(run);
    expect(step).toBeInstanceOf(Promise);
    expect(run.log).toEqual(['a>', 'b>']);
    await step;
    expect(run.log).toEqual(['a>', 'b>', 'c>', '<c', '<b', '<a']);
  });

  it('lets a stage end the run by not calling next', () => {
    const stop: Stage<Trace> = { name: 'stop', wrap: () => (run) => void run.log.push('stop') };
    const run = { log: [] };
    compose([stage('a'), stop, stage('never')])(run);
    expect(run.log).toEqual(['a>', 'stop', '<a']);
  });
});

describe('step helpers', () => {
  it('after skips its continuation when the step failed', async () => {
    const seen: string[] = [];
    await expect(after(Promise.reject(new Error('x')), seen, (s) => void s.push('ran'))).rejects.toThrow('x');
    expect(seen).toEqual([]);
  });

  it('withValue takes a value or a promise of one', async () => {
    const got: unknown[] = [];
    expect(withValue(1, got, (g, v) => void g.push(v))).toBeUndefined();
    await withValue(Promise.resolve(2), got, (g, v) => void g.push(v));
    expect(got).toEqual([1, 2]);
  });

  it('recover treats a synchronous throw and a rejection alike', async () => {
    const caught: unknown[] = [];
    const onError = (c: unknown[], error: unknown): Step => void c.push((error as Error).message);
    expect(
      recover(
        caught,
        () => {
          throw new Error('sync');
        },
        onError,
      ),
    ).toBeUndefined();
    await recover(caught, () => Promise.reject(new Error('async')), onError);
    expect(caught).toEqual(['sync', 'async']);
  });

  it('each runs items one after the other, waiting for asynchronous ones', async () => {
    const order: string[] = [];
    const step = each(order, ['a', 'b', 'c'], (o, item) => {
      o.push(`${item}>`);
      return item === 'b' ? Promise.resolve().then(() => void o.push(`<${item}`)) : undefined;
    });
    expect(order).toEqual(['a>', 'b>']);
    await step;
    expect(order).toEqual(['a>', 'b>', '<b', 'c>']);
  });
});
