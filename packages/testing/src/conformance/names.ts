import { randomBytes } from 'node:crypto';

/**
 * A name unique to this call: `prefix-` plus 10 random lowercase letters and
 * digits. Only `[a-z0-9-]`, at most `prefix.length + 11` characters, so it is a
 * valid queue, stream, topic and routing-key segment on every supported broker.
 */
export function uniqueName(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (const byte of randomBytes(10)) suffix += alphabet[byte % alphabet.length];
  return `${prefix}-${suffix}`;
}
