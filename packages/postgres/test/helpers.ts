import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use (POSTGRES_URL overrides): trust auth, database `test`. */
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Rejects within 2 s when PostgreSQL does not answer (for brokerReachable). */
export async function probePostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other test or suite uses. */
export function uniqueSchema(label: string): string {
  return `sy_test_${label}_${randomBytes(4).toString('hex')}`;
}

/** A pool for a test; `dropSchemas` removes the schemas the test created. */
export function testPool(): pg.Pool {
  return new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
}

/** Drop `schemas` and everything in them. */
export async function dropSchemas(pool: pg.Pool, schemas: readonly string[]): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
