import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * Message ids: UUIDv7 (RFC 9562), time-ordered and monotonic within this
 * process. The uuid package draws 16 fresh bytes from the OS per id; on the
 * hot path that cost more than the rest of encoding, so random bytes come from
 * a pool refilled 4 KiB at a time, and the 31-bit counter that keeps ids
 * monotonic within one millisecond is kept here.
 */
const pool = new Uint8Array(4_096);
let offset = pool.length;
let lastMs = -1;
let seq = 0;

function random16(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

/** A new UUIDv7 string. Never repeats within the process; sorts by creation time. */
export function newId(): string {
  const random = random16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // Start each millisecond at a random point in the lower half, leaving room to count up.
    seq = (((random[6] as number) << 22) | ((random[7] as number) << 14) | ((random[8] as number) << 6)) >>> 1;
  } else {
    seq = (seq + 1) & 0x7fffffff;
    if (seq === 0) lastMs++;
  }
  return v7({ msecs: lastMs, seq, random });
}
