import { runTransportConformance } from '@switchyard/testing';
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
  skip: {
    'broker-outage':
      'SQLite has no broker to lose: the database is a local file opened in-process (a crash is covered by crash.test.ts)',
  },
});
