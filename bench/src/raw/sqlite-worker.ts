import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { benchHeaders, benchPayload, nowMs } from '../contract.js';

/**
 * One side of the raw SQLite baseline (see sqlite.ts), in its own thread with
 * its own connection. Rows carry what the framework's rows carry: a UUID id,
 * CloudEvents headers as JSON and the benchmark payload as a JSON BLOB.
 */
const options = workerData as { role: 'producer' | 'consumer'; messages: number; batch: number; path: string };
const post = (type: string, value?: unknown) => parentPort?.postMessage({ type, value });

const db = new Database(options.path, { timeout: 5_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS raw_messages (
  seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, id TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
  visible_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, lease_owner TEXT);
CREATE INDEX IF NOT EXISTS raw_messages_ready ON raw_messages (channel, visible_at, seq);`);

if (options.role === 'producer') produce();
else consume();
db.close();

function produce(): void {
  const insert = db.prepare('INSERT INTO raw_messages (channel, id, headers, body, visible_at) VALUES (?, ?, ?, ?, ?)');
  const sendBatch = db.transaction((from: number, count: number) => {
    const at = Date.now();
    for (let i = from; i < from + count; i++) {
      const id = randomUUID();
      insert.run('bench', id, JSON.stringify(benchHeaders(id)), Buffer.from(JSON.stringify(benchPayload(i))), at);
    }
  });
  const started = nowMs();
  post('started', started);
  for (let i = 0; i < options.messages; i += options.batch) {
    sendBatch.immediate(i, Math.min(options.batch, options.messages - i));
  }
  post('done', started);
}

function consume(): void {
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
  // Rows left by an earlier run on the same file would be counted as this run's.
  db.exec('DELETE FROM raw_messages');
  const latencies = new Float64Array(options.messages);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let handled = 0;
  let claims = 0;
  let idle = 0;
  post('ready');
  while (handled < options.messages) {
    const rows = claimBatch.immediate(`raw.${++claims}`);
    if (rows.length === 0) {
      idle = Math.min(idle === 0 ? 1 : idle * 2, 50);
      Atomics.wait(sleeper, 0, 0, idle);
      continue;
    }
    idle = 0;
    for (const row of rows) {
      JSON.parse(row.headers);
      const payload = JSON.parse(row.body.toString('utf8')) as { sentAt: number };
      latencies[handled++] = nowMs() - payload.sentAt;
    }
    removeBatch.immediate(rows);
  }
  post('done', { finished: nowMs(), latencies });
}
