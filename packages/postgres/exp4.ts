import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresTransport } from './src/index.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sy_exp4_${Date.now()}`;
const producer = new PostgresTransport({ connectionString: URL, schema, poolSize: 4 });
const admin = new pg.Pool({ connectionString: URL, max: 1 });
await producer.ping();
const body = Buffer.from(
  JSON.stringify({ seq: 1, sentAt: Date.now(), orderId: 'order-1', items: [{ sku: 'a', quantity: 2 }] }),
);
async function run(label: string) {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < 20_000) {
        next += 100;
        await producer.send(
          'c',
          Array.from({ length: 100 }, () => {
            const id = randomUUID();
            return { id, headers: { 'ce-id': id }, body };
          }),
        );
      }
    }),
  );
  console.log(label, Math.round(20_000 / ((performance.now() - t0) / 1000)), 'rows/s');
}
for (let i = 0; i < 5; i++) {
  await run('trigger');
  await admin.query(`ALTER TABLE "${schema}".sy_messages DISABLE TRIGGER sy_messages_wake`);
  await run('no trigger');
  await admin.query(`ALTER TABLE "${schema}".sy_messages ENABLE TRIGGER sy_messages_wake`);
}
await producer.close();
await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
await admin.end();
