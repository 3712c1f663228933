import { ConfigurationError } from '@switchyard/core';

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time from the command line: an ISO date (`2026-05-01`,
 * `2026-05-01T12:00:00Z`) or a duration before `now` (`30s`, `15m`, `2h`,
 * `7d`, `1w`). Throws a ConfigurationError naming the option otherwise.
 */
export function parseTime(option: string, text: string, now: number = Date.now()): Date {
  const relative = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (relative) return new Date(now - Number(relative[1]) * (UNITS[relative[2] ?? 's'] ?? 1_000));
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new ConfigurationError(
      `${option} '${text}' is not a time: use an ISO date (2026-05-01T12:00:00Z) or a duration ago (30m, 2h, 7d)`,
    );
  }
  return new Date(ms);
}

/** A positive integer from the command line; throws a ConfigurationError naming the option otherwise. */
export function parsePositive(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigurationError(`${option} must be a positive integer, got '${text}'`);
  return value;
}
