import { runTransportConformance } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { SqliteTransport } from '../src/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const path = tmp.file('conformance.db');
afterAll(() => tmp.cleanup());

runTransportConformance({
  name: 'sqlite',
  // Short lease so that scenarios about unsettled or abandoned deliveries see them come back quickly.
  createTransport: () => new SqliteTransport({ path, leaseMs: 2_000 }),
  // A reply channel is its entry in sy_reply_channels and its rows in sy_messages.
  async replyChannelExists(address) {
    const db = new Database(path, { readonly: true });
    try {
      const sql =
        'SELECT EXISTS (SELECT 1 FROM sy_reply_channels WHERE channel = ?) OR EXISTS (SELECT 1 FROM sy_messages WHERE channel = ?)';
      return db.prepare(sql).pluck().get(address, address) === 1;
    } finally {
      db.close();
    }
  },
  skip: {
    'broker-outage':
      'SQLite has no broker to lose: the database is a local file opened in-process (a crash is covered by crash.test.ts)',
  },
});
