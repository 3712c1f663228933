import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../handlers/registry.js';
import { DEFAULT_RETRY_POLICY } from '../resilience/retry-policy.js';
import {
  compileEcotonePattern,
  compilePattern,
  ecotoneToAmqpPattern,
  matchesPattern,
  validatePattern,
} from './pattern.js';

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

describe("Ecotone's wildcard rule (patternSyntax: 'ecotone')", () => {
  it('`*` spans dots and the match ignores letter case, over the whole key', () => {
    const match = compileEcotonePattern('order.*');
    expect(match('order.placed')).toBe(true);
    expect(match('order.item.added')).toBe(true);
    expect(match('ORDER.Placed')).toBe(true);
    expect(match('order')).toBe(false);
    expect(match('billing.order.placed')).toBe(false);
    expect(compileEcotonePattern('*.placed')('shop.order.placed')).toBe(true);
    expect(compileEcotonePattern('order.pla*')('order.placed')).toBe(true);
    expect(compileEcotonePattern('a+b.(c)')('a+b.(c)')).toBe(true);
  });

  it('maps to an AMQP pattern that matches every key the Ecotone pattern matches', () => {
    expect(ecotoneToAmqpPattern('order.*')).toBe('order.#');
    expect(ecotoneToAmqpPattern('order.pla*')).toBe('order.#');
    expect(ecotoneToAmqpPattern('*.*.placed')).toBe('#.placed');
    expect(ecotoneToAmqpPattern('order.placed')).toBe('order.placed');
    for (const [pattern, key] of [
      ['order.*', 'order.item.added'],
      ['*.placed', 'shop.order.placed'],
      ['order.pla*', 'order.placed'],
    ] as const) {
      expect(compileEcotonePattern(pattern)(key)).toBe(true);
      expect(matchesPattern(ecotoneToAmqpPattern(pattern), key)).toBe(true);
    }
  });

  it('a handler registered with the Ecotone rule is subscribed by the superset and routed by the exact rule', () => {
    const registry = new HandlerRegistry(DEFAULT_RETRY_POLICY);
    registry.add('order.*', () => undefined, { distributed: true, patternSyntax: 'ecotone' });
    expect(registry.subscriptions()).toEqual(['order.#']);
    expect(registry.events('Order.Item.Added')).toHaveLength(1);
    expect(registry.events('order')).toHaveLength(0);
  });
});
