import { ErrorCode } from '@switchyard/core';
import { brokerReachable } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type Migration, migrate, quoteSchema } from '../src/migrations.js';
import { dropSchemas, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

describe('quoteSchema', () => {
  it('quotes plain identifiers and refuses anything else', () => {
    expect(quoteSchema('switchyard')).toBe('"switchyard"');
    for (const bad of ['Switchyard', 'a"b', 'x; DROP TABLE y', '', '1abc', 'a'.repeat(64)]) {
      expect(() => quoteSchema(bad)).toThrow(expect.objectContaining({ code: ErrorCode.Configuration }));
    }
  });
});

describe.runIf(reachable)('migrate (PostgreSQL)', () => {
  const pool = testPool();
  const schemas: string[] = [];
  afterAll(async () => {
    await dropSchemas(pool, schemas);
    await pool.end();
  });

  const steps: Migration[] = [
    { version: 1, description: 'items', sql: (s) => `CREATE TABLE ${s}.items (id int PRIMARY KEY)` },
    { version: 2, description: 'items.name', sql: (s) => `ALTER TABLE ${s}.items ADD COLUMN name text` },
  ];

  it('applies each step once, also when eight processes migrate at the same moment', async () => {
    const schema = uniqueSchema('migrate');
    schemas.push(schema);
    await Promise.all(Array.from({ length: 8 }, () => migrate(pool, schema, 'test', steps)));
    await migrate(pool, schema, 'test', steps);
    const applied = await pool.query(`SELECT version FROM "${schema}".sy_migrations ORDER BY version`);
    expect(applied.rows.map((row) => row.version)).toEqual([1, 2]);
    await pool.query(`INSERT INTO "${schema}".items (id, name) VALUES (1, 'a')`);
  });

  it('rolls a failing step back whole and wraps the driver error', async () => {
    const schema = uniqueSchema('broken');
    schemas.push(schema);
    const broken = [...steps, { version: 3, description: 'bad', sql: () => 'CREATE TABLE nonsense (' }];
    await expect(migrate(pool, schema, 'test', broken)).rejects.toMatchObject({
      code: ErrorCode.TransportUnavailable,
    });
    const exists = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
    expect(exists.rowCount).toBe(0);
  });

  it('refuses versions that are not ascending', async () => {
    await expect(migrate(pool, uniqueSchema('order'), 'test', [steps[1]!, steps[0]!])).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
  });
});
