import { randomFillSync } from 'node:crypto';

/**
 * Message ids: UUIDv7 (RFC 9562), time-ordered and monotonic within this
 * process, laid out as the uuid package's `v7` lays them out (48-bit
 * milliseconds, a 31-bit counter seeded randomly each millisecond, random
 * tail). Written here rather than through `uuid`: per message that package
 * allocated a byte array, formatted all 16 bytes and lower-cased the result,
 * a larger share of a send than the rest of encoding. Random bytes come from a
 * pool refilled 4 KiB at a time, and the time prefix is formatted once per
 * millisecond.
 */
const pool = new Uint8Array(4_096);
let offset = pool.length;
let lastMs = -1;
let seq = 0;
/** `xxxxxxxx-xxxx-` of `lastMs`. */
let prefix = '';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function random16(): number {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  return at;
}

/** `xxxxxxxx-xxxx-` of `ms`. @internal */
export function timePrefix(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/** A new UUIDv7 string. Never repeats within the process; sorts by creation time. */
export function newId(): string {
  const at = random16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // Start each millisecond at a random point in the lower half, leaving room to count up.
    seq = (((pool[at + 6] as number) << 22) | ((pool[at + 7] as number) << 14) | ((pool[at + 8] as number) << 6)) >>> 1;
    prefix = timePrefix(lastMs);
  } else {
    seq = (seq + 1) & 0x7fffffff;
    if (seq === 0) {
      lastMs++;
      prefix = timePrefix(lastMs);
    }
  }
  return formatV7(prefix, seq, pool, at);
}

/**
 * UUIDv7 text from the time prefix (`timePrefix(ms)`), the counter and the
 * random bytes at `at`, in the uuid package's layout. Exported for tests.
 * @internal
 */
export function formatV7(prefix: string, seq: number, random: Uint8Array, at: number): string {
  return `${prefix}${HEX[0x70 | ((seq >>> 28) & 0x0f)]}${HEX[(seq >>> 20) & 0xff]}-${HEX[0x80 | ((seq >>> 14) & 0x3f)]}${
    HEX[(seq >>> 6) & 0xff]
  }-${HEX[((seq << 2) & 0xff) | ((random[at + 10] as number) & 0x03)]}${HEX[random[at + 11] as number]}${
    HEX[random[at + 12] as number]
  }${HEX[random[at + 13] as number]}${HEX[random[at + 14] as number]}${HEX[random[at + 15] as number]}`;
}
