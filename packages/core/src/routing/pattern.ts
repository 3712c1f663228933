import { ConfigurationError } from '../errors.js';

/**
 * Routing patterns with AMQP topic semantics, the one matcher used by core and
 * by every transport that filters on the client side.
 *
 * A routing key is a dot-separated list of segments (`order.placed`). In a
 * pattern, `*` matches exactly one segment and `#` matches zero or more.
 */

const SEGMENT = /^[A-Za-z0-9_\-:]+$/;

/** Throws a ConfigurationError when `pattern` is not a valid routing pattern. */
export function validatePattern(pattern: string): void {
  if (pattern.length === 0) throw new ConfigurationError('a routing pattern must not be empty');
  for (const segment of pattern.split('.')) {
    if (segment === '*' || segment === '#') continue;
    if (!SEGMENT.test(segment)) {
      throw new ConfigurationError(
        `routing pattern '${pattern}' has an invalid segment '${segment}': use letters, digits, '_', '-', ':', or a whole-segment '*' / '#'`,
      );
    }
  }
}

/** A compiled pattern: call it with a routing key. Pure and reusable. */
export type PatternMatcher = (routingKey: string) => boolean;

/** Compile `pattern` once for repeated matching. Throws on an invalid pattern. */
export function compilePattern(pattern: string): PatternMatcher {
  validatePattern(pattern);
  if (!pattern.includes('*') && !pattern.includes('#')) return (key) => key === pattern;
  const parts = pattern.split('.');
  return (key) => matchSegments(parts, 0, key.split('.'), 0);
}

const cache = new Map<string, PatternMatcher>();

/** True when `routingKey` matches `pattern`. Compiled matchers are cached. */
export function matchesPattern(pattern: string, routingKey: string): boolean {
  let matcher = cache.get(pattern);
  if (matcher === undefined) {
    matcher = compilePattern(pattern);
    if (cache.size < 10_000) cache.set(pattern, matcher);
  }
  return matcher(routingKey);
}

function matchSegments(pattern: readonly string[], p: number, key: readonly string[], k: number): boolean {
  while (p < pattern.length) {
    const part = pattern[p];
    if (part === '#') {
      if (p === pattern.length - 1) return true;
      for (let skip = k; skip <= key.length; skip++) {
        if (matchSegments(pattern, p + 1, key, skip)) return true;
      }
      return false;
    }
    if (k >= key.length) return false;
    if (part !== '*' && part !== key[k]) return false;
    p++;
    k++;
  }
  return k === key.length;
}

/**
 * Ecotone's subscription rule: `*` matches any run of characters (dots
 * included), everything else literally, the whole key, case-insensitively.
 * Throws a ConfigurationError for an empty pattern. Pure.
 */
export function compileEcotonePattern(pattern: string): PatternMatcher {
  if (pattern.length === 0) throw new ConfigurationError('a routing pattern must not be empty');
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 'i');
  return (key) => regex.test(key);
}

/**
 * The AMQP pattern that matches at least every key the Ecotone `pattern`
 * matches (up to letter case): each segment holding a `*` becomes `#`,
 * consecutive `#` collapse. What a broker binding can express.
 */
export function ecotoneToAmqpPattern(pattern: string): string {
  const segments: string[] = [];
  for (const segment of pattern.split('.')) {
    const next = segment.includes('*') ? '#' : segment;
    if (next === '#' && segments[segments.length - 1] === '#') continue;
    segments.push(next);
  }
  const amqp = segments.join('.');
  validatePattern(amqp);
  return amqp;
}
