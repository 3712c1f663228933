import { ConfigurationError } from '../errors.js';
import type { DeadLetterRecord } from './stores.js';

/**
 * Optional retention of a dead-letter store. Without it a store keeps every record until it is
 * replayed or deleted. A record is removed only when it is older than `maxAgeMs` (by its
 * `deadLetteredAt`), or when it is among the oldest beyond `maxCount`; nothing younger and within
 * the count is ever removed by retention. Each store documents when it enforces it.
 */
export interface DeadLetterRetention {
  /** Remove records dead-lettered more than this many ms ago. */
  readonly maxAgeMs?: number;
  /** Keep at most this many records; the oldest go first. */
  readonly maxCount?: number;
}

/** Throws a ConfigurationError naming the field when `retention` holds a value that is not a positive integer. */
export function checkRetention(owner: string, retention: DeadLetterRetention | undefined): void {
  for (const field of ['maxAgeMs', 'maxCount'] as const) {
    const value = retention?.[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new ConfigurationError(`${owner}: retention.${field} must be a positive integer, got ${value}`);
    }
  }
}

/**
 * The records retention removes from `records` at `now` (epoch ms): those older than `maxAgeMs`,
 * then the oldest of the rest beyond `maxCount`. Order of `records` does not matter.
 */
export function expiredDeadLetters(
  records: Iterable<DeadLetterRecord>,
  retention: DeadLetterRetention | undefined,
  now: number,
): DeadLetterRecord[] {
  if (retention?.maxAgeMs === undefined && retention?.maxCount === undefined) return [];
  const sorted = [...records].sort((a, b) => Date.parse(a.deadLetteredAt) - Date.parse(b.deadLetteredAt));
  const cutoff = retention.maxAgeMs === undefined ? Number.NEGATIVE_INFINITY : now - retention.maxAgeMs;
  let expired = 0;
  while (expired < sorted.length && Date.parse((sorted[expired] as DeadLetterRecord).deadLetteredAt) < cutoff) {
    expired++;
  }
  const overCount = retention.maxCount === undefined ? 0 : sorted.length - expired - retention.maxCount;
  return sorted.slice(0, expired + Math.max(0, overCount));
}
