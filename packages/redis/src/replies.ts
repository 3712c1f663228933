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

/**
 * Page through the entries pending on `consumer` (XREADGROUP from id 0, on the consumer's own
 * connection) and hand those not in `held` to `deliver` with their delivery counts. Used after a
 * reconnect, when a read may have been served while its reply was lost.
 */
export async function readOwnPending(
  blockConn: Redis,
  conn: Redis,
  stream: string,
  consumer: string,
  held: ReadonlyMap<string, unknown>,
  deliver: (entries: readonly RawEntry[], counts: ReadonlyMap<string, number>) => void,
): Promise<void> {
  const page = 200;
  let start = '0';
  for (;;) {
    const reply = await blockConn.callBuffer('XREADGROUP', [
      'GROUP',
      Keys.group,
      consumer,
      'COUNT',
      page,
      'STREAMS',
      stream,
      start,
    ]);
    const entries = readGroupEntries(reply);
    if (entries.length === 0) return;
    start = entries[entries.length - 1]!.id;
    const fresh = entries.filter((e) => !held.has(e.id));
    const counts = await pendingCounts(
      conn,
      stream,
      consumer,
      fresh.map((e) => e.id),
      held.size,
    );
    deliver(fresh, counts);
    if (entries.length < page) return;
  }
}
