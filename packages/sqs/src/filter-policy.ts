import { validatePattern } from '@switchyard/core/transport';

/**
 * Maps AMQP-style routing patterns onto SNS subscription filter policies.
 *
 * SNS matches an attribute against exact strings, prefixes, suffixes or mere
 * existence; it has no notion of segments. Each pattern therefore becomes a
 * filter that matches a superset of the keys the pattern matches:
 *
 * | pattern      | SNS filter values                  | exact? |
 * |--------------|------------------------------------|--------|
 * | `a.b`        | `"a.b"`                            | yes    |
 * | `a.#`        | `{prefix:"a."}`, `"a"`             | yes    |
 * | `#.b`        | `{suffix:".b"}`, `"b"`             | yes    |
 * | `#`          | `{exists:true}`                    | yes    |
 * | `a.*`, `a.*.c`, `a.#.c` | `{prefix:"a."}`         | no     |
 * | `*.b`        | `{suffix:".b"}`                    | no     |
 * | `*.b.*`      | `{exists:true}`                    | no     |
 *
 * Because some filters are approximate, the SNS mode declares
 * `patternFiltering: 'client'`: core re-checks every event against its
 * handlers' patterns and ignores what none of them matches.
 */

/**
 * One value of an SNS filter policy array.
 * @internal
 */
export type FilterValue =
  | string
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly exists: true };

/**
 * The filter values that stand for one pattern, and whether they match exactly the pattern's keys.
 * @internal
 */
export interface PatternFilter {
  readonly values: readonly FilterValue[];
  readonly exact: boolean;
}

/** SNS allows at most 150 value combinations in one filter policy. */
export const MAX_FILTER_VALUES = 150;

const isWildcard = (segment: string): boolean => segment === '*' || segment === '#';

/**
 * The SNS filter values for `pattern`. Throws a ConfigurationError for an invalid pattern.
 * @internal
 */
export function patternFilter(pattern: string): PatternFilter {
  validatePattern(pattern);
  const segments = pattern.split('.');
  const first = segments.findIndex(isWildcard);
  if (first === -1) return { values: [pattern], exact: true };
  let last = segments.length - 1;
  while (!isWildcard(segments[last] ?? '')) last--;

  const lead = segments.slice(0, first);
  const tail = segments.slice(last + 1);
  const middle = segments.slice(first, last + 1);
  const onlyHashes = middle.every((s) => s === '#');

  if (lead.length > 0) {
    const literal = lead.join('.');
    // `a.#` also matches `a` itself: `#` may stand for zero segments.
    if (onlyHashes && tail.length === 0) return { values: [{ prefix: `${literal}.` }, literal], exact: true };
    return { values: [{ prefix: `${literal}.` }], exact: false };
  }
  if (tail.length > 0) {
    const literal = tail.join('.');
    if (onlyHashes) return { values: [{ suffix: `.${literal}` }, literal], exact: true };
    return { values: [{ suffix: `.${literal}` }], exact: false };
  }
  return { values: [{ exists: true }], exact: onlyHashes };
}

/**
 * The filter policy (attribute scope) for a channel subscribed to `patterns`:
 * the union of every pattern's values under `attribute`. Over
 * {@link MAX_FILTER_VALUES} values it widens to `exists`, which is still a
 * superset. Returns undefined for no patterns (the channel needs no subscription).
 * @internal
 */
export function filterPolicy(attribute: string, patterns: readonly string[]): string | undefined {
  if (patterns.length === 0) return undefined;
  const seen = new Set<string>();
  const values: FilterValue[] = [];
  for (const pattern of patterns) {
    for (const value of patternFilter(pattern).values) {
      const key = JSON.stringify(value);
      if (seen.has(key)) continue;
      seen.add(key);
      values.push(value);
    }
  }
  const wide = values.length > MAX_FILTER_VALUES || seen.has(JSON.stringify({ exists: true }));
  return JSON.stringify({ [attribute]: wide ? [{ exists: true }] : values });
}
