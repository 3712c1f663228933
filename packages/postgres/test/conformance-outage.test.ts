import { randomBytes } from 'node:crypto';
import { runTransportConformance, TcpProxy } from '@switchyard/testing';
import pg from 'pg';
import { afterAll } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, uniqueSchema } from './helpers.js';

/**
 * The conformance suite's broker-outage scenario for PostgreSQL. The shared server is never
 * stopped: the transports connect through a TcpProxy of this test, and an outage is the proxy
 * cutting every connection and refusing new ones (ECONNREFUSED) for 3 s, twice.
 */
const schema = uniqueSchema('outage');
const target = new URL(POSTGRES_URL);
let proxy: Promise<TcpProxy> | undefined;
const proxied = () => {
  proxy ??= TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  return proxy;
};

runTransportConformance({
  name: 'postgres through a proxy',
  only: ['broker-outage'],
  probe: probePostgres,
  capabilities: new PostgresTransport({ connectionString: POSTGRES_URL }).capabilities,
  async createTransport() {
    const url = new URL(POSTGRES_URL);
    url.host = (await proxied()).address;
    return new PostgresTransport({
      connectionString: url.toString(),
      schema,
      leaseMs: 2_000,
      applicationName: `sy-outage-${randomBytes(3).toString('hex')}`,
      // Failed claims and notifications during the outage are expected: counted by the scenario, not printed.
      onError: () => undefined,
    });
  },
  outage: {
    describe: `TcpProxy in front of ${target.host}: cut + refuse`,
    cut: async () => {
      const proxy = await proxied();
      // An outage nobody sees would prove nothing: the transports must be connected through the proxy.
      if (proxy.open === 0) throw new Error('no connection goes through the proxy');
      await proxy.refuse();
    },
    restore: async () => (await proxied()).restore(),
  },
});

afterAll(async () => {
  await (await proxy)?.close();
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  await dropSchemas(admin, [schema]).catch(() => undefined);
  await admin.end();
});
