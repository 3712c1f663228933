import type { Redis } from 'ioredis';
import { Keys } from './codec.js';

/** A stream entry as Redis returns it; `fields` is null when the entry was deleted while pending. */
export interface RawEntry {
  readonly id: string;
  readonly fields: Buffer[] | null;
}

/** Entries of the single stream in an XREADGROUP reply (binary), or none when it timed out. */
export function readGroupEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream = reply[0] as [Buffer, unknown[]];
  return entries(stream[1]);
}

/** The cursor and claimed entries of an XAUTOCLAIM reply (binary). Deleted ids are dropped by Redis itself. */
export function autoClaimReply(reply: unknown): { cursor: string; entries: RawEntry[] } {
  const [cursor, list] = reply as [Buffer, unknown[]];
  return { cursor: cursor.toString(), entries: entries(list) };
}

function entries(list: unknown[]): RawEntry[] {
  const out: RawEntry[] = [];
  for (const item of list) {
    const [id, fields] = item as [Buffer, Buffer[] | null];
    out.push({ id: id.toString(), fields: fields ?? null });
  }
  return out;
}

/**
 * Delivery counts, from the group's pending list, of `ids` (ascending) pending
 * on `consumer`. An id missing from the answer (acked meanwhile) gets no entry.
 */
export async function pendingCounts(
  conn: Redis,
  stream: string,
  consumer: string,
  ids: readonly string[],
  extra: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (ids.length === 0) return counts;
  const reply = (await conn.call('XPENDING', [
    stream,
    Keys.group,
    ids[0]!,
    ids[ids.length - 1]!,
    ids.length + extra,
    consumer,
  ])) as Array<[string, string, number, number]>;
  for (const [id, , , count] of reply) counts.set(id, Number(count));
  return counts;
}
