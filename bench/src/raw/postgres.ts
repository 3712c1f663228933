import { randomUUID } from 'node:crypto';
import { SendBatcher } from '@switchyard/core/transport';
import pg from 'pg';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the raw PostgreSQL baseline. */
export interface RawPostgresOptions {
  readonly connectionString: string;
  /** A schema of its own, created with its table by the consumer (the caller drops it). */
  readonly schema: string;
  /** Rows per claim (the transport's claim: half its prefetch). */
  readonly claim: number;
  /** Producer connections, and inserts in flight at once (the transport's `min(4, poolSize)`). */
  readonly producers: number;
  /** Rows per insert at most (the transport's send batcher: 500). */
  readonly maxInsert: number;
}

/** The transport's session settings (packages/postgres/src/pools.ts): ordered index scans, async commit for the consumer. */
const PRODUCER_SESSION = '-c enable_sort=off';
const CONSUMER_SESSION = `${PRODUCER_SESSION} -c synchronous_commit=off`;

const tableOf = (schema: string) => `"${schema}".raw_messages`;

/**
 * The raw baseline's consumer: one `pg` connection (the transport's consumer
 * session settings). It creates the schema and a table shaped like the
 * transport's, then loops as the transport's consumer does: one statement
 * deletes the rows handled since the last one and leases up to `claim`
 * visible rows (`FOR UPDATE SKIP LOCKED`, oldest first: the transport's claim
 * without its per-key ordering check); the next claim is sent before the
 * current batch is handled, so the database works while this thread reads
 * each row (headers and payload JSON parsed). An empty table is polled again
 * after 1, 2, 4 … 50 ms (the transport waits on LISTEN/NOTIFY instead).
 * `stop` ends the loop and deletes the last handled rows.
 */
export async function startRawPostgresConsumer(
  options: RawPostgresOptions,
  onHandled: OnHandled,
): Promise<RunningConsumer> {
  const client = new pg.Client({ connectionString: options.connectionString, options: CONSUMER_SESSION });
  await client.connect();
  const table = tableOf(options.schema);
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, channel text NOT NULL, id text NOT NULL,
      headers text NOT NULL, body bytea NOT NULL, key text, visible_at timestamptz NOT NULL DEFAULT now(),
      delivery_count integer NOT NULL DEFAULT 0, lease_owner text, sent_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`CREATE INDEX IF NOT EXISTS raw_ready ON ${table} (channel, visible_at, seq)`);
  const claimText = `WITH acked AS (DELETE FROM ${table} WHERE seq = ANY($3::bigint[])),
      picked AS (SELECT seq FROM ${table} WHERE channel = 'bench' AND visible_at <= now()
        AND seq <> ALL($3::bigint[]) ORDER BY visible_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED)
      UPDATE ${table} m SET visible_at = now() + interval '30 seconds', lease_owner = $2,
        delivery_count = m.delivery_count + 1
      FROM picked WHERE m.seq = picked.seq RETURNING m.seq, m.id, m.headers, m.body`;
  let claims = 0;
  const claim = (acked: readonly string[]) =>
    client.query<[string, string, string, Buffer]>({
      name: 'raw_claim',
      text: claimText,
      values: [options.claim, `raw.${++claims}`, `{${acked.join(',')}}`],
      rowMode: 'array',
    });
  let running = true;
  let handled: string[] = [];
  const loop = (async () => {
    let idle = 0;
    let next = claim([]);
    while (running) {
      const { rows } = await next;
      if (rows.length === 0) {
        idle = Math.min(idle === 0 ? 1 : idle * 2, 50);
        await new Promise((resolve) => setTimeout(resolve, idle));
        if (!running) break;
        next = claim(handled);
        handled = [];
        continue;
      }
      idle = 0;
      // The next claim (carrying the deletes of the batch before) is on its way while this one is read.
      next = claim(handled);
      handled = [];
      for (const [seq, , headers, body] of rows) {
        onHandled((readRawMessage(headers, body.toString('utf8')) as { sentAt: number }).sentAt);
        handled.push(seq);
      }
    }
    await next.catch(() => undefined);
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      if (handled.length > 0)
        await client.query(`DELETE FROM ${table} WHERE seq = ANY($1::bigint[])`, [`{${handled.join(',')}}`]);
      await client.end();
    },
  };
}

/**
 * The raw baseline's producer: a pool of `producers` connections (the
 * transport's producer session settings); the sends of one event-loop turn
 * are inserted together by one statement of up to `maxInsert` rows, at most
 * `producers` statements in flight (the transport's send batcher, same
 * limits), each row with a UUID id, the framework's headers as JSON text, the
 * JSON payload as bytea and `visible_at = now()`. The statement is the
 * transport's: ids and headers travel as one UTF-8 blob and bodies as another,
 * both binary parameters cut by byte offsets (what `pg` does to text and bytea
 * arrays costs more CPU than the rest of the send). A send resolves once its
 * statement committed (synchronous commit).
 */
export async function rawPostgresProducer(options: RawPostgresOptions): Promise<BenchProducer> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    options: PRODUCER_SESSION,
    max: options.producers,
  });
  const table = tableOf(options.schema);
  const text = `INSERT INTO ${table} (channel, id, headers, body, visible_at)
    SELECT 'bench', convert_from(substring($3::bytea FROM r.id_at FOR r.id_len), 'UTF8'),
      convert_from(substring($3::bytea FROM r.id_at + r.id_len FOR r.headers_len), 'UTF8'),
      substring($6::bytea FROM r.body_at FOR r.body_len), now()
    FROM unnest($1::int4[], $2::int4[], $4::int4[], $5::int4[], $7::int4[])
      WITH ORDINALITY AS r(id_at, id_len, headers_len, body_at, body_len, n)
    ORDER BY r.n`;
  const insert = async (seqs: number[]) => {
    const n = seqs.length;
    const idAt = new Array<number>(n);
    const idLen = new Array<number>(n);
    const headersLen = new Array<number>(n);
    const bodyAt = new Array<number>(n);
    const bodyLen = new Array<number>(n);
    const bodies = new Array<Buffer>(n);
    let textBlob = '';
    let textBytes = 0;
    let bodyBytes = 0;
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const headers = JSON.stringify(benchHeaders(id));
      const body = Buffer.from(JSON.stringify(benchPayload(seqs[i] as number)));
      const headerBytes = Buffer.byteLength(headers);
      idAt[i] = textBytes + 1;
      idLen[i] = id.length;
      headersLen[i] = headerBytes;
      textBlob += id + headers;
      textBytes += id.length + headerBytes;
      bodyAt[i] = bodyBytes + 1;
      bodyLen[i] = body.byteLength;
      bodies[i] = body;
      bodyBytes += body.byteLength;
    }
    const ints = (values: number[]) => `{${values.join(',')}}`;
    await pool.query({
      name: 'raw_insert',
      text,
      values: [
        ints(idAt),
        ints(idLen),
        Buffer.from(textBlob, 'utf8'),
        ints(headersLen),
        ints(bodyAt),
        Buffer.concat(bodies, bodyBytes),
        ints(bodyLen),
      ],
    });
  };
  const batcher = new SendBatcher<number>(insert, {
    maxBatch: options.maxInsert,
    maxInFlight: Math.max(1, Math.min(4, options.producers)),
  });
  return {
    send: (seq) => batcher.submit([seq]),
    async stop() {
      await pool.end();
    },
  };
}
