import type { TransportMessage } from '../transport/types.js';
import type { DeadLetterFilter, DeadLetterRecord } from './stores.js';

/**
 * The columns that a SQL dead-letter store (SQLite, PostgreSQL: table `sy_dead_letters`) keeps
 * for each record, in the order of {@link deadLetterValues}. Each store adds its own indexed time
 * column (`dead_lettered_ms`, `dead_lettered_ts`) from {@link deadLetterTime}.
 */
export const DEAD_LETTER_COLUMNS =
  'id, message_id, message_name, service, handler, channel, reason_code, reason_message, reason_stack, attempts, ' +
  'first_attempt_at, dead_lettered_at, headers, body, message_key, deliver_at';

/** One row of {@link DEAD_LETTER_COLUMNS} as a driver reads it (PostgreSQL returns `deliver_at`, a bigint, as text). */
export interface DeadLetterRow {
  readonly id: string;
  readonly message_id: string;
  readonly message_name: string;
  readonly service: string;
  readonly handler: string | null;
  readonly channel: string;
  readonly reason_code: string;
  readonly reason_message: string;
  readonly reason_stack: string | null;
  readonly attempts: number;
  readonly first_attempt_at: string;
  readonly dead_lettered_at: string;
  readonly headers: string;
  readonly body: Uint8Array;
  readonly message_key: string | null;
  readonly deliver_at: string | number | null;
}

/**
 * The values of `record` for {@link DEAD_LETTER_COLUMNS}, in that order: headers as JSON, the body
 * as a Buffer over the same bytes (no copy), absent optional fields as null. Pure.
 */
export function deadLetterValues(record: DeadLetterRecord): unknown[] {
  const m = record.message;
  return [
    record.id,
    record.messageId,
    record.messageName,
    record.service,
    record.handler ?? null,
    record.channel,
    record.reason.code,
    record.reason.message,
    record.reason.stack ?? null,
    record.attempts,
    record.firstAttemptAt,
    record.deadLetteredAt,
    JSON.stringify(m.headers),
    Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
    m.key ?? null,
    m.deliverAt ?? null,
  ];
}

/** When `record` was dead-lettered, in epoch ms, for the indexed time column; now if its time does not parse. */
export function deadLetterTime(record: DeadLetterRecord): number {
  const ms = Date.parse(record.deadLetteredAt);
  return Number.isNaN(ms) ? Date.now() : ms;
}

/** The record that {@link deadLetterValues} stored as `row`; the body is a view of the row's bytes. */
export function deadLetterFromRow(row: DeadLetterRow): DeadLetterRecord {
  const message: TransportMessage = {
    id: row.message_id,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    ...(row.message_key === null ? {} : { key: row.message_key }),
    ...(row.deliver_at === null ? {} : { deliverAt: Number(row.deliver_at) }),
  };
  return {
    id: row.id,
    messageId: row.message_id,
    messageName: row.message_name,
    service: row.service,
    ...(row.handler === null ? {} : { handler: row.handler }),
    channel: row.channel,
    reason: {
      code: row.reason_code,
      message: row.reason_message,
      ...(row.reason_stack === null ? {} : { stack: row.reason_stack }),
    },
    attempts: row.attempts,
    firstAttemptAt: row.first_attempt_at,
    deadLetteredAt: row.dead_lettered_at,
    message,
  };
}

/** How one SQL dialect writes the parts of a dead-letter filter that differ. */
export interface DeadLetterDialect {
  /** The placeholder of the `n`-th parameter (from 1): `$n`, `?`. */
  param(n: number): string;
  /** A condition: `reason_message` contains the text of placeholder `p`, case-insensitively. */
  contains(p: string): string;
  /** The store's indexed time column, and a time as that column holds it. */
  readonly timeColumn: string;
  time(date: Date): unknown;
}

/**
 * The `WHERE` clause (empty when nothing filters) and its parameters for `filter`'s service,
 * handler, message name, code, search text and time range; paging is the caller's. Pure.
 */
export function deadLetterWhere(
  filter: DeadLetterFilter,
  dialect: DeadLetterDialect,
): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(clause(dialect.param(params.length)));
  };
  const { timeColumn } = dialect;
  add((p) => `service = ${p}`, filter.service);
  add((p) => `handler = ${p}`, filter.handler);
  add((p) => `message_name = ${p}`, filter.messageName);
  add((p) => `reason_code = ${p}`, filter.code);
  add(dialect.contains, filter.search);
  add((p) => `${timeColumn} >= ${p}`, filter.since === undefined ? undefined : dialect.time(filter.since));
  add((p) => `${timeColumn} < ${p}`, filter.until === undefined ? undefined : dialect.time(filter.until));
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
