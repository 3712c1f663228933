import { describe, expect, it } from 'vitest';
import { compilePattern, matchesPattern, validatePattern } from './pattern.js';

describe('routing patterns (AMQP topic semantics)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['order.placed', 'order.placed', true],
    ['order.placed', 'order.shipped', false],
    ['order.*', 'order.placed', true],
    ['order.*', 'order', false],
    ['order.*', 'order.placed.eu', false],
    ['*.placed', 'order.placed', true],
    ['order.#', 'order', true],
    ['order.#', 'order.placed.eu', true],
    ['order.#', 'orders.placed', false],
    ['#', 'anything.at.all', true],
    ['#.eu', 'order.placed.eu', true],
    ['#.eu', 'eu', true],
    ['order.#.eu', 'order.eu', true],
    ['order.#.eu', 'order.placed.x.eu', true],
    ['order.#.eu', 'order.placed.us', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
    ['#.*', 'a', true],
  ];
  for (const [pattern, key, expected] of cases) {
    it(`'${pattern}' ${expected ? 'matches' : 'does not match'} '${key}'`, () => {
      expect(matchesPattern(pattern, key)).toBe(expected);
      expect(compilePattern(pattern)(key)).toBe(expected);
    });
  }

  it('rejects malformed patterns with a message that says what is allowed', () => {
    expect(() => validatePattern('')).toThrow(/must not be empty/);
    expect(() => validatePattern('order..placed')).toThrow(/invalid segment/);
    expect(() => validatePattern('order.pla*')).toThrow(/whole-segment/);
  });
});
