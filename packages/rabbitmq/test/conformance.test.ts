import type { Transport } from '@switchyard/core/transport';
import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, dropConnections, probeRabbit, RABBIT_URL, unique } from './helpers.js';

const exchange = unique('sy-conformance');
const connectionPrefix = unique('sy-conf');
const channels = new Set<string>();

/** The transport, noting every channel the suite touches so they can be deleted afterwards. */
function recording(transport: RabbitMqTransport): Transport {
  return {
    name: transport.name,
    capabilities: transport.capabilities,
    provision: (topology) => {
      for (const channel of topology.channels) channels.add(channel.name);
      return transport.provision(topology);
    },
    send: (channel, messages) => {
      channels.add(channel);
      return transport.send(channel, messages);
    },
    publish: (messages) => transport.publish(messages),
    consume: (channel, handler, options) => {
      channels.add(channel);
      return transport.consume(channel, handler, options);
    },
    ping: () => transport.ping(),
    close: () => transport.close(),
  };
}

runTransportConformance({
  name: 'rabbitmq',
  probe: probeRabbit,
  createTransport: () =>
    recording(
      new RabbitMqTransport({
        url: RABBIT_URL,
        exchange,
        connectionName: `${connectionPrefix}-conn`,
        reconnect: { initialDelayMs: 20, maxDelayMs: 1_000 },
      }),
    ),
  // Only this suite's connections: other suites on the same broker keep theirs.
  dropConnections: async () => {
    await dropConnections(connectionPrefix);
  },
});

afterAll(async () => {
  if (channels.size === 0) return;
  const queues = [...channels].flatMap((name) => [name, `${exchange}.topology.${name}`]);
  await deleteObjects(queues, [exchange, `${exchange}.delay`]);
});
