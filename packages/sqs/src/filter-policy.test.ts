import { matchesPattern } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { type FilterValue, filterPolicy, MAX_FILTER_VALUES, patternFilter } from './filter-policy.js';

/** What SNS does with one filter value (the subset the transport emits). */
function snsMatches(value: FilterValue, key: string): boolean {
  if (typeof value === 'string') return value === key;
  if ('prefix' in value) return key.startsWith(value.prefix);
  if ('suffix' in value) return key.endsWith(value.suffix);
  return true;
}

const KEYS = ['a', 'a.b', 'a.b.c', 'a.c', 'b', 'b.a', 'x.b', 'x.b.y', 'a.x.c', 'a.b.b', 'c'];
const PATTERNS = ['a.b', 'a.#', '#.b', '#', 'a.*', 'a.*.c', 'a.#.c', '*.b', '*.b.*', 'a.#.#', '#.b.#'];

describe('patternFilter', () => {
  it.each(PATTERNS)('%s: SNS matches a superset of the pattern, and exactly when marked exact', (pattern) => {
    const { values, exact } = patternFilter(pattern);
    for (const key of KEYS) {
      const sns = values.some((v) => snsMatches(v, key));
      const amqp = matchesPattern(pattern, key);
      if (amqp) expect(sns, `${pattern} must let ${key} through`).toBe(true);
      if (exact) expect(sns, `${pattern} is exact for ${key}`).toBe(amqp);
    }
  });

  it('maps the documented cases', () => {
    expect(patternFilter('a.b')).toEqual({ values: ['a.b'], exact: true });
    expect(patternFilter('a.#')).toEqual({ values: [{ prefix: 'a.' }, 'a'], exact: true });
    expect(patternFilter('#.b')).toEqual({ values: [{ suffix: '.b' }, 'b'], exact: true });
    expect(patternFilter('#')).toEqual({ values: [{ exists: true }], exact: true });
    expect(patternFilter('a.*')).toEqual({ values: [{ prefix: 'a.' }], exact: false });
    expect(patternFilter('*.b.*')).toEqual({ values: [{ exists: true }], exact: false });
  });

  it('rejects an invalid pattern', () => {
    expect(() => patternFilter('a..b')).toThrow(/invalid segment/);
  });
});

describe('filterPolicy', () => {
  it('is undefined without patterns, and the de-duplicated union otherwise', () => {
    expect(filterPolicy('rk', [])).toBeUndefined();
    expect(JSON.parse(filterPolicy('rk', ['a.b', 'a.#', 'a.*'])!)).toEqual({ rk: ['a.b', { prefix: 'a.' }, 'a'] });
  });

  it("widens to 'exists' when '#' is among the patterns or there are too many values", () => {
    expect(JSON.parse(filterPolicy('rk', ['a.b', '#'])!)).toEqual({ rk: [{ exists: true }] });
    const many = Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `k.${i}`);
    expect(JSON.parse(filterPolicy('rk', many)!)).toEqual({ rk: [{ exists: true }] });
  });
});
