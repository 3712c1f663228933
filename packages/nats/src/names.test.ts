import { matchesPattern } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { channelToken, coverFilter, Names, natsFilters } from './names.js';

/** NATS subject matching (`*` one token, `>` one or more at the end), to check filters against core's matcher. */
function natsMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

const keys = ['order', 'order.placed', 'order.item.added', 'payment.placed', 'a.b.c.d', 'x'];

describe('natsFilters', () => {
  it('maps * and a trailing # to NATS wildcards, adding the zero-segment subject NATS > does not match', () => {
    expect(natsFilters('order.placed')).toEqual(['order.placed']);
    expect(natsFilters('order.*')).toEqual(['order.*']);
    expect(natsFilters('#')).toEqual(['>']);
    expect(natsFilters('order.#')).toEqual(['order', 'order.>']);
    expect(natsFilters('a.#.d')).toEqual(['a', 'a.>']);
  });

  it.each(['order.#', 'order.*', '#', '*.placed', 'a.#.d', '#.placed', 'order'])(
    "the filters of '%s' admit every routing key the pattern matches",
    (pattern) => {
      for (const key of keys) {
        if (matchesPattern(pattern, key))
          expect(
            natsFilters(pattern).some((f) => natsMatches(f, key)),
            key,
          ).toBe(true);
      }
    },
  );
});

describe('coverFilter', () => {
  it('is the narrowest single filter over several patterns', () => {
    expect(coverFilter(['order.placed'])).toBe('order.placed');
    expect(coverFilter(['order.placed', '*.placed'])).toBe('*.placed');
    expect(coverFilter(['order.*', 'order.placed'])).toBe('order.*');
    expect(coverFilter(['order.#'])).toBe('>');
    expect(coverFilter(['ns.order.#'])).toBe('ns.>');
    expect(coverFilter(['a.b', 'c.d.e'])).toBe('*.>');
    expect(coverFilter(['ns.a.*', 'ns.b.*'])).toBe('ns.*.*');
    expect(coverFilter(['ns.order.*', 'ns.order.item.*'])).toBe('ns.order.>');
  });

  it.each([[['order.#', 'payment.*']], [['ns.order.placed', 'ns.*.placed']], [['a.#.d', 'x']], [['order', 'order.*']]])(
    'admits every routing key any of %j matches',
    (patterns) => {
      const cover = coverFilter(patterns);
      for (const key of keys) {
        if (patterns.some((p) => matchesPattern(p, key)))
          expect(natsMatches(cover, key), `${cover} ∌ ${key}`).toBe(true);
      }
    },
  );
});

describe('names', () => {
  it('encodes channel names injectively into one subject token', () => {
    expect(channelToken('order-service')).toBe('order-service');
    expect(channelToken('a.b')).toBe('a_2e_b');
    expect(channelToken('a_2e_b')).toBe('a_5f_2e_5f_b');
    expect(channelToken('a b*>')).not.toMatch(/[ .*>]/);
  });

  it('keeps channel and event subjects apart and refuses routing keys that are no subject', () => {
    const names = new Names('shop');
    expect(names.channelSubject('orders')).toBe('shop.ch.orders');
    expect(names.eventSubject('order.placed')).toBe('shop.ev.order.placed');
    expect(names.routingKeyOf('shop.ev.order.placed')).toBe('order.placed');
    expect(names.routingKeyOf('shop.ch.orders')).toBeUndefined();
    expect(() => names.eventSubject('order..placed')).toThrow(/routing key/);
    expect(() => names.eventSubject('order.>')).toThrow(/routing key/);
    expect(names.eventFilter(['order.#'])).toBe('shop.ev.>');
  });
});
