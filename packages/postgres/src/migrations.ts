import { ConfigurationError, ErrorCode, TransportError } from '@switchyard/core';
import type pg from 'pg';

/**
 * One versioned step of a component's schema. `sql` receives the quoted schema name and returns
 * the statements to run; a step runs once per schema, inside the migrating transaction.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: (schema: string) => string;
}

/** Anything that can hand out a client for one transaction: a `pg.Pool`, or a `pg.Client` used alone. */
export type ClientSource = pg.Pool | pg.Client;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The schema name, quoted for SQL. Throws a ConfigurationError for a name that is not a plain
 * lower-case identifier, so that no user input is ever spliced into SQL unchecked.
 */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConfigurationError(
      `PostgreSQL schema '${schema}' is not a plain identifier: use lower-case letters, digits and '_' (at most 63), starting with a letter or '_'`,
    );
  }
  return `"${schema}"`;
}

/**
 * Bring `component`'s tables in `schema` up to the newest of `migrations`. Idempotent, and safe
 * when several processes start at once: the whole run holds a transaction-scoped advisory lock on
 * the schema, so one process applies each step and the others then find it applied. Versions must
 * be unique and ascending. Rejects with a TransportError (`SY_TRANSPORT_UNAVAILABLE`) wrapping the
 * driver's error when the database refuses; nothing is half-applied, the transaction rolls back.
 */
export async function migrate(
  source: ClientSource,
  schema: string,
  component: string,
  migrations: readonly Migration[],
): Promise<void> {
  const quoted = quoteSchema(schema);
  for (let i = 1; i < migrations.length; i++) {
    if ((migrations[i]?.version ?? 0) <= (migrations[i - 1]?.version ?? 0)) {
      throw new ConfigurationError(`migrations of '${component}' must have unique ascending versions`);
    }
  }
  const pooled = 'totalCount' in source;
  const client = pooled ? await (source as pg.Pool).connect() : (source as pg.Client);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`switchyard.migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.sy_migrations (
         component text NOT NULL, version integer NOT NULL, description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`,
    );
    const applied = await client.query<{ version: number }>(
      `SELECT version FROM ${quoted}.sy_migrations WHERE component = $1`,
      [component],
    );
    const done = new Set(applied.rows.map((row) => row.version));
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql(quoted));
      await client.query(`INSERT INTO ${quoted}.sy_migrations (component, version, description) VALUES ($1, $2, $3)`, [
        component,
        migration.version,
        migration.description,
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if (error instanceof ConfigurationError) throw error;
    throw new TransportError(
      ErrorCode.TransportUnavailable,
      `cannot migrate the PostgreSQL schema '${schema}' for ${component}`,
      { cause: error },
    );
  } finally {
    if (pooled) (client as pg.PoolClient).release();
  }
}
