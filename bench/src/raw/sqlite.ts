import { randomUUID } from 'node:crypto';
import { SendBatcher } from '@switchyard/core/transport';
import Database from 'better-sqlite3';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the raw SQLite baseline. */
export interface RawSqliteOptions {
  /** Database file, a fresh one per run (created with its table by the consumer). */
  readonly path: string;
  /** Rows per claim/delete transaction (the transport's prefetch). */
  readonly batch: number;
}

function open(path: string): Database.Database {
  const db = new Database(path, { timeout: 5_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

/**
 * The raw baseline's consumer: better-sqlite3 on its own connection to one
 * WAL file (synchronous=NORMAL). In `BEGIN IMMEDIATE` transactions it leases
 * up to `batch` visible rows (UPDATE … RETURNING), reads each (headers JSON
 * and payload JSON parsed) and handles it, then deletes them in one
 * transaction; when it finds none it polls again after 1, 2, 4 … 50 ms.
 */
export async function startRawSqliteConsumer(
  options: RawSqliteOptions,
  onHandled: OnHandled,
): Promise<RunningConsumer> {
  const db = open(options.path);
  db.exec(`CREATE TABLE IF NOT EXISTS raw_messages (
  seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, id TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
  visible_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, lease_owner TEXT);
CREATE INDEX IF NOT EXISTS raw_messages_ready ON raw_messages (channel, visible_at, seq);`);
  const claim =
    db.prepare(`UPDATE raw_messages SET visible_at = @until, lease_owner = @owner, delivery_count = delivery_count + 1
    WHERE seq IN (SELECT seq FROM raw_messages WHERE channel = 'bench' AND visible_at <= @now ORDER BY visible_at, seq LIMIT @limit)
    RETURNING seq, id, headers, body, delivery_count`);
  const remove = db.prepare('DELETE FROM raw_messages WHERE seq = ?');
  type Row = { seq: number; headers: string; body: Buffer };
  const claimBatch = db.transaction((owner: string) => {
    const t = Date.now();
    return claim.all({ now: t, until: t + 30_000, owner, limit: options.batch }) as Row[];
  });
  const removeBatch = db.transaction((rows: Row[]) => {
    for (const row of rows) remove.run(row.seq);
  });
  let claims = 0;
  let idle = 0;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let running = true;
  let polling = false;
  const claimAndHandle = () => {
    const rows = claimBatch.immediate(`raw.${++claims}`);
    if (rows.length === 0) {
      idle = Math.min(idle === 0 ? 1 : idle * 2, 50);
      return idle;
    }
    idle = 0;
    for (const row of rows) {
      JSON.parse(row.headers);
      onHandled((JSON.parse(row.body.toString('utf8')) as { sentAt: number }).sentAt);
    }
    removeBatch.immediate(rows);
    return 0;
  };
  const poll = () => {
    timer = undefined;
    if (!running) return;
    // The last message handled may stop the consumer from inside this call: close after it.
    polling = true;
    let wait: number;
    try {
      wait = claimAndHandle();
    } finally {
      polling = false;
    }
    if (!running) db.close();
    else timer = wait === 0 ? setImmediate(poll) : setTimeout(poll, wait);
  };
  poll();
  return {
    async stop() {
      running = false;
      if (timer !== undefined) {
        clearTimeout(timer as NodeJS.Timeout);
        clearImmediate(timer as NodeJS.Immediate);
      }
      if (!polling && db.open) db.close();
    },
  };
}

/**
 * The raw baseline's producer: its own connection; concurrent sends made in
 * one event-loop turn commit together in one `BEGIN IMMEDIATE` transaction
 * (the transport's group commit), each row carrying a UUID id, the
 * framework's headers as JSON, the JSON payload as a BLOB and `visible_at`.
 */
export async function rawSqliteProducer(options: RawSqliteOptions): Promise<BenchProducer> {
  const db = open(options.path);
  const insert = db.prepare('INSERT INTO raw_messages (channel, id, headers, body, visible_at) VALUES (?, ?, ?, ?, ?)');
  const insertAll = db.transaction((seqs: number[]) => {
    const at = Date.now();
    for (const seq of seqs) {
      const id = randomUUID();
      insert.run('bench', id, JSON.stringify(benchHeaders(id)), Buffer.from(JSON.stringify(benchPayload(seq))), at);
    }
  });
  const commits = new SendBatcher<number>(async (seqs) => void insertAll.immediate(seqs), {
    maxBatch: 10_000,
    maxInFlight: 1,
  });
  return {
    send: (seq) => commits.submit([seq]),
    async stop() {
      db.close();
    },
  };
}
