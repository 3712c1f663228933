import { runTransportConformance, TcpProxy } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_URL, unique } from './helpers.js';

/**
 * The conformance suite's broker-outage scenario for RabbitMQ. The shared
 * broker is never stopped: the transports connect through a TcpProxy of this
 * test, and an outage is the proxy cutting every connection and refusing new
 * ones (ECONNREFUSED) for 3 s, twice.
 */
const exchange = unique('sy-outage-x');
const channels = new Set<string>();
const target = new URL(RABBIT_URL);
let proxy: Promise<TcpProxy> | undefined;
const proxied = () => {
  proxy ??= TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
  return proxy;
};

runTransportConformance({
  name: 'rabbitmq through a proxy',
  only: ['broker-outage'],
  probe: probeRabbit,
  capabilities: new RabbitMqTransport({ url: RABBIT_URL }).capabilities,
  async createTransport() {
    const url = new URL(RABBIT_URL);
    url.host = (await proxied()).address;
    const transport = new RabbitMqTransport({
      url: url.toString(),
      exchange,
      connectionName: unique('sy-outage'),
      reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 },
    });
    const provision = transport.provision.bind(transport);
    transport.provision = (topology) => {
      for (const channel of topology.channels) channels.add(channel.name);
      return provision(topology);
    };
    return transport;
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
  if (channels.size === 0) return;
  const queues = [...channels].flatMap((name) => [name, `${exchange}.topology.${name}`]);
  await deleteObjects(queues, [exchange, `${exchange}.delay`]);
});
