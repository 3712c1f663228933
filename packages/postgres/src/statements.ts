import type pg from 'pg';
import { patternRegex } from './schema.js';

/** A claimed row as the driver returns it (`rowMode: 'array'`): cheaper than an object per row. */
export type ClaimedRow = readonly [
  seq: string,
  id: string,
  headers: string,
  body: Buffer,
  key: string | null,
  deliveryCount: number,
];

/** A row of the claim statement: a claimed row and a null, or (last, short claims only) nulls and the next visible time. */
type ClaimResultRow = [
  seq: string | null,
  id: string | null,
  headers: string | null,
  body: Buffer | null,
  key: string | null,
  deliveryCount: number | null,
  nextIn: number | null,
];

/** What one claim returns. */
export interface Claim {
  /** The leased rows, in send order. */
  readonly rows: ClaimedRow[];
  /**
   * For a claim that took fewer rows than its limit: milliseconds until the next row of the
   * channel may be claimed (a delayed message, a nacked one, an expiring lease of another
   * consumer; never a row held back behind its key), ≤ 0 when one is claimable now (a concurrent
   * claim was taking it), undefined when nothing else is there. Undefined after a full claim.
   */
  readonly nextIn: number | undefined;
}

/** One row to insert: the message's columns, `deliverAt` in epoch ms or null. */
export interface InsertRow {
  readonly channel: string;
  readonly id: string;
  readonly headers: string;
  readonly body: Uint8Array;
  readonly key: string | null;
  readonly deliverAt: number | null;
}

/** One event to fan out: like {@link InsertRow} with a routing key instead of a channel. */
export interface PublishRow extends Omit<InsertRow, 'channel'> {
  readonly routingKey: string;
}

/** Latest instant PostgreSQL's `to_timestamp` is asked for: an absurd `deliverAt` is held until then. */
const MAX_DELIVER_AT = 253_402_300_799_000;

/** Clamp a `deliverAt` to what PostgreSQL stores; null for none or for the past (visible now). */
export function deliverAtParam(deliverAt: number | undefined, now: number): number | null {
  if (deliverAt === undefined || !(deliverAt > now)) return null;
  return Math.min(deliverAt, MAX_DELIVER_AT);
}

/**
 * The transport's SQL on `sy_messages` and `sy_subscriptions` of one schema. Every statement is
 * one round trip in autocommit (its own transaction), named so that each connection parses and
 * plans it once. Times are the database's clock (`now()`), so that processes on hosts whose
 * clocks differ agree on leases; only `deliverAt` comes from the sender.
 */
export class Statements {
  readonly #insert: string;
  readonly #publish: string;
  readonly #claim: string;
  readonly #delete: string;
  readonly #release: string;
  readonly #unclaim: string;
  readonly #extend: string;
  readonly #names: string;

  constructor(quotedSchema: string, schema: string) {
    const t = `${quotedSchema}.sy_messages`;
    this.#names = schema;
    const visible = `CASE WHEN r.deliver_at IS NULL THEN now() ELSE to_timestamp(r.deliver_at / 1000.0) END`;
    // The rows' ids and headers arrive as one UTF-8 blob and their bodies as another, both as
    // binary parameters, cut by byte offsets (see `packRows`).
    const rows = `unnest($1::text[], $2::int4[], $3::int4[], $4::int4[], $6::int4[], $7::int4[], $8::text[], $9::float8[])
        WITH ORDINALITY AS r(target, id_at, id_len, headers_len, body_at, body_len, key, deliver_at, n)`;
    const id = `convert_from(substring($5::bytea FROM r.id_at FOR r.id_len), 'UTF8')`;
    const headers = `convert_from(substring($5::bytea FROM r.id_at + r.id_len FOR r.headers_len), 'UTF8')`;
    const body = `substring($10::bytea FROM r.body_at FOR r.body_len)`;
    this.#insert = `INSERT INTO ${t} (channel, id, headers, body, key, visible_at)
      SELECT r.target, ${id}, ${headers}, ${body}, r.key, ${visible}
      FROM ${rows}
      ORDER BY r.n`;
    this.#publish = `WITH inserted AS (INSERT INTO ${t} (channel, id, headers, body, key, visible_at)
      SELECT s.channel, ${id}, ${headers}, ${body}, r.key, ${visible}
      FROM ${rows}
      CROSS JOIN LATERAL (SELECT DISTINCT channel FROM ${quotedSchema}.sy_subscriptions
        WHERE ('.' || r.target) ~ regex) AS s
      ORDER BY r.n, s.channel
      RETURNING channel)
      SELECT DISTINCT channel FROM inserted`;
    // Only the oldest row of a key may be claimed: a leased, nacked or delayed head holds its key back.
    const headOfKey = `(m.key IS NULL OR NOT EXISTS (
        SELECT 1 FROM ${t} p WHERE p.channel = m.channel AND p.key = m.key AND p.seq < m.seq))`;
    // The same, blind to the rows this claim deletes as acked: its snapshot still holds them.
    const headOfKeyAfterAcks = `(m.key IS NULL OR NOT EXISTS (
        SELECT 1 FROM ${t} p WHERE p.channel = m.channel AND p.key = m.key AND p.seq < m.seq
          AND p.seq <> ALL($5::bigint[])))`;
    const untilVisible = `(extract(epoch FROM m.visible_at - now()) * 1000)::float8`;
    // A claim that took fewer rows than its limit also returns a last row with a null seq and, in
    // its seventh column, when the next row may be claimed (see `claim`): the consumer would
    // otherwise ask right after, in a round trip of its own. The statement's snapshot still shows
    // the rows it picks and deletes, so both are left out of that answer.
    this.#claim = `WITH acked AS (DELETE FROM ${t} WHERE seq = ANY($5::bigint[])),
      picked AS (
        SELECT m.seq FROM ${t} m
        WHERE m.channel = $1 AND m.visible_at <= now() AND m.seq <> ALL($5::bigint[]) AND ${headOfKey}
        ORDER BY m.visible_at, m.seq
        LIMIT $2
        FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE ${t} m SET visible_at = now() + $3 * interval '1 millisecond', lease_owner = $4,
          delivery_count = m.delivery_count + 1
        FROM picked WHERE m.seq = picked.seq
        RETURNING m.seq, m.id, m.headers, m.body, m.key, m.delivery_count)
      SELECT seq, id, headers, body, key, delivery_count, NULL::float8 FROM claimed
      UNION ALL
      SELECT NULL, NULL, NULL, NULL, NULL, NULL, (
        SELECT ${untilVisible} FROM ${t} m
        WHERE m.channel = $1 AND m.seq <> ALL($5::bigint[]) AND m.seq NOT IN (SELECT seq FROM picked)
          AND ${headOfKeyAfterAcks}
        ORDER BY m.visible_at LIMIT 1)
      WHERE (SELECT count(*) FROM picked) < $2`;
    this.#delete = `DELETE FROM ${t} WHERE seq = ANY($1::bigint[])`;
    this.#release = `UPDATE ${t} SET visible_at = now() + $3 * interval '1 millisecond', lease_owner = NULL
      WHERE seq = $1 AND lease_owner = $2`;
    this.#unclaim = `UPDATE ${t} SET visible_at = now(), lease_owner = NULL, delivery_count = delivery_count - 1
      WHERE seq = ANY($1::bigint[]) AND lease_owner = $2`;
    this.#extend = `UPDATE ${t} m SET visible_at = now() + $3 * interval '1 millisecond'
      FROM unnest($1::bigint[], $2::text[]) AS l(seq, owner)
      WHERE m.seq = l.seq AND m.lease_owner = l.owner`;
  }

  /** Insert `rows` (any channels) in order, in one statement. */
  async insert(db: pg.Pool | pg.ClientBase, rows: readonly InsertRow[]): Promise<void> {
    await db.query({ name: `sy_insert_${this.#names}`, text: this.#insert, values: packRows(rows, 'channel') });
  }

  /** Insert one row per (event, subscribed channel), in one statement; returns the channels that got rows. */
  async publish(db: pg.Pool | pg.ClientBase, rows: readonly PublishRow[]): Promise<string[]> {
    const result = await db.query<[string]>({
      name: `sy_publish_${this.#names}`,
      text: this.#publish,
      values: packRows(rows, 'routingKey'),
      rowMode: 'array' as const,
    });
    return result.rows.map((row) => row[0]);
  }

  /**
   * Delete the acked rows `acked` (whoever holds them) and lease up to `limit` claimable rows of
   * `channel` to `owner` for `leaseMs`, oldest due first, skipping rows another claim is taking
   * right now (`FOR UPDATE SKIP LOCKED`). Rows come back in send order. A claim that took fewer
   * than `limit` rows also says when the next row may be claimed ({@link Claim.nextIn}).
   */
  async claim(
    db: pg.Pool,
    channel: string,
    limit: number,
    leaseMs: number,
    owner: string,
    acked: readonly string[],
  ): Promise<Claim> {
    const result = await db.query<ClaimResultRow>({
      name: `sy_claim_${this.#names}`,
      text: this.#claim,
      values: [channel, limit, leaseMs, owner, intArray(acked)],
      rowMode: 'array' as const,
    });
    const rows: ClaimedRow[] = [];
    let nextIn: number | undefined;
    for (const row of result.rows) {
      // The row of a short claim that carries the next visible time has no seq; a claimed row has
      // every column of a ClaimedRow (its seventh, null, is never read).
      if (row[0] === null) nextIn = row[6] ?? undefined;
      else rows.push(row as unknown as ClaimedRow);
    }
    // RETURNING does not keep the subquery's order; seq is send order (compared as numbers).
    rows.sort((a, b) => compareSeq(a[0], b[0]));
    return { rows, nextIn };
  }

  /** Delete acked rows, whoever holds them. */
  async delete(db: pg.Pool, seqs: readonly string[]): Promise<void> {
    await db.query({ name: `sy_delete_${this.#names}`, text: this.#delete, values: [intArray(seqs)] });
  }

  /** Give a row back, visible `delayMs` from now, if `owner` still holds its lease. */
  async release(db: pg.Pool, seq: string, owner: string, delayMs: number): Promise<void> {
    await db.query({ name: `sy_release_${this.#names}`, text: this.#release, values: [seq, owner, delayMs] });
  }

  /** Give back rows claimed by `owner` but never handed to a handler, undoing their delivery count. */
  async unclaim(db: pg.Pool, seqs: readonly string[], owner: string): Promise<void> {
    await db.query({ name: `sy_unclaim_${this.#names}`, text: this.#unclaim, values: [intArray(seqs), owner] });
  }

  /** Push the leases of rows still held by their owners to `leaseMs` from now. */
  async extend(db: pg.Pool, leases: ReadonlyArray<readonly [seq: string, owner: string]>, leaseMs: number) {
    await db.query({
      name: `sy_extend_${this.#names}`,
      text: this.#extend,
      values: [intArray(leases.map((l) => l[0])), leases.map((l) => l[1]), leaseMs],
    });
  }

  /**
   * Make `channel`'s subscriptions exactly `patterns`, inside the caller's transaction (`client`
   * has run BEGIN). Concurrent provisions of one channel are serialized by a row lock taken by
   * the first statement.
   */
  async setPatterns(client: pg.ClientBase, quotedSchema: string, channel: string, patterns: readonly string[]) {
    const s = `${quotedSchema}.sy_subscriptions`;
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`switchyard.provision:${channel}`]);
    await client.query(`DELETE FROM ${s} WHERE channel = $1 AND NOT (pattern = ANY($2::text[]))`, [channel, patterns]);
    if (patterns.length > 0) {
      await client.query(
        `INSERT INTO ${s} (channel, pattern, regex) SELECT $1, p, r FROM unnest($2::text[], $3::text[]) AS x(p, r)
         ON CONFLICT (channel, pattern) DO NOTHING`,
        [channel, patterns, patterns.map(patternRegex)],
      );
    }
  }
}

/**
 * The parameters of an unnest insert. `pg` sends a JS array as a text literal, escaping every
 * string element with two regular-expression passes and every byte as two hex digits, which
 * PostgreSQL then parses back: for headers (JSON, full of quotes) and bodies that was the larger
 * part of a send's CPU on both sides. Here ids and headers travel as one UTF-8 blob and bodies as
 * another, both binary parameters (no escaping, no hex), with 1-based byte offsets and lengths as
 * integer arrays. Targets and keys are short and stay text arrays.
 */
function packRows<T extends InsertRow | PublishRow>(rows: readonly T[], first: 'channel' | 'routingKey'): unknown[] {
  const n = rows.length;
  const targets = new Array<string>(n);
  const keys = new Array<string | null>(n);
  const due = new Array<number | null>(n);
  const idAt = new Array<number>(n);
  const idLen = new Array<number>(n);
  const headersLen = new Array<number>(n);
  const bodyAt = new Array<number>(n);
  const bodyLen = new Array<number>(n);
  const bodies = new Array<Uint8Array>(n);
  let text = '';
  let textBytes = 0;
  let bodyBytes = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i] as T;
    targets[i] = (row as unknown as Record<string, string>)[first] as string;
    keys[i] = row.key;
    due[i] = row.deliverAt;
    const idBytes = Buffer.byteLength(row.id);
    const headerBytes = Buffer.byteLength(row.headers);
    idAt[i] = textBytes + 1;
    idLen[i] = idBytes;
    headersLen[i] = headerBytes;
    text += row.id + row.headers;
    textBytes += idBytes + headerBytes;
    bodyAt[i] = bodyBytes + 1;
    bodyLen[i] = row.body.byteLength;
    bodies[i] = row.body;
    bodyBytes += row.body.byteLength;
  }
  return [
    targets,
    intArray(idAt),
    intArray(idLen),
    intArray(headersLen),
    Buffer.from(text, 'utf8'),
    intArray(bodyAt),
    intArray(bodyLen),
    keys,
    due,
    Buffer.concat(bodies, bodyBytes),
  ];
}

/**
 * An integer array literal, of numbers or of row ids (`seq`, digit strings as the driver returned
 * them): integers need no escaping, which `pg` would still do element by element.
 */
function intArray(values: ReadonlyArray<number | string>): string {
  return `{${values.join(',')}}`;
}

function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
