import { randomFillSync } from 'node:crypto';

/**
 * Message ids: UUIDv7 (RFC 9562), time-ordered and monotonic within this
 * process, laid out as the uuid package's `v7` lays them out (48-bit
 * milliseconds, a 31-bit counter seeded randomly each millisecond, random
 * tail). Written here rather than through `uuid`: per id that package
 * allocated a byte array, concatenated 20 strings and lower-cased the result,
 * a larger share of a send than the rest of encoding. Here the text lives in
 * one buffer whose time digits change once per millisecond; each id rewrites
 * the other ten bytes' digits and is read out as one string. Random bytes
 * come from a pool refilled 4 KiB at a time. Not reentrant, and need not be:
 * JavaScript runs one call at a time per thread.
 */
const pool = new Uint8Array(4_096);
let offset = pool.length;
let lastMs = -1;
let seq = 0;

/** The text of the current id, rewritten in place: one flat string per id instead of a chain of concatenations. */
const text = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');
/** The two hex digits of a byte, as char codes (low byte first). */
const HEX = Uint16Array.from({ length: 256 }, (_, byte) => {
  const digits = byte.toString(16).padStart(2, '0');
  return digits.charCodeAt(0) | (digits.charCodeAt(1) << 8);
});
/** Where each of the 16 bytes' two digits go in the text. */
const POSITION = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const;

function random16(): number {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  return at;
}

function put(index: number, byte: number): void {
  const digits = HEX[byte & 0xff] as number;
  const at = POSITION[index] as number;
  text[at] = digits & 0xff;
  text[at + 1] = digits >>> 8;
}

/** Write the 48-bit millisecond time into the text's first six bytes. */
function putTime(ms: number): void {
  put(0, ms / 0x10000000000);
  put(1, ms / 0x100000000);
  put(2, ms / 0x1000000);
  put(3, ms / 0x10000);
  put(4, ms / 0x100);
  put(5, ms);
}

/** A new UUIDv7 string. Never repeats within the process; sorts by creation time. */
export function newId(): string {
  const at = random16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // Start each millisecond at a random point in the lower half, leaving room to count up.
    seq = (((pool[at + 6] as number) << 22) | ((pool[at + 7] as number) << 14) | ((pool[at + 8] as number) << 6)) >>> 1;
    putTime(lastMs);
  } else {
    seq = (seq + 1) & 0x7fffffff;
    if (seq === 0) {
      lastMs++;
      putTime(lastMs);
    }
  }
  return format(seq, pool, at);
}

/**
 * The text of the id with the time last written by `putTime`, counter `seq`
 * and the random bytes at `at`, in the uuid package's `v7` layout.
 */
function format(counter: number, random: Uint8Array, at: number): string {
  put(6, 0x70 | ((counter >>> 28) & 0x0f));
  put(7, counter >>> 20);
  put(8, 0x80 | ((counter >>> 14) & 0x3f));
  put(9, counter >>> 6);
  put(10, ((counter << 2) & 0xff) | ((random[at + 10] as number) & 0x03));
  for (let i = 11; i < 16; i++) put(i, random[at + i] as number);
  return text.toString('latin1', 0, 36);
}

/**
 * UUIDv7 text of `ms`, `counter` and the random bytes at `at`, as {@link newId}
 * makes it. For tests; leaves the shared text as it found it.
 * @internal
 */
export function formatV7(ms: number, counter: number, random: Uint8Array, at: number): string {
  putTime(ms);
  const id = format(counter, random, at);
  if (lastMs >= 0) putTime(lastMs);
  return id;
}
