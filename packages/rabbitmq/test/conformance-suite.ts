import type { Transport } from '@switchyard/core/transport';
import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { type RabbitMqQueueType, RabbitMqTransport } from '../src/index.js';
import { deleteObjects, dropConnections, probeRabbit, queueExists, RABBIT_URL, unique } from './helpers.js';

/**
 * Register the transport conformance suite for RabbitMQ with queues of
 * `queueType`, on an exchange of its own; connection drops hit only this
 * suite's connections, and every channel it touched is deleted afterwards.
 */
export function rabbitConformance(queueType: RabbitMqQueueType): void {
  const exchange = unique(`sy-conformance-${queueType}`);
  const connectionPrefix = unique(`sy-conf-${queueType}`);
  const channels = new Set<string>();
  registerSuite(queueType, exchange, connectionPrefix, channels);
  afterAll(async () => {
    if (channels.size === 0) return;
    const queues = [...channels].flatMap((name) => [name, `${exchange}.topology.${name}`]);
    await deleteObjects(queues, [exchange, `${exchange}.delay`]);
  });
}

/** The transport, noting every channel the suite touches in `channels`. */
function recording(transport: RabbitMqTransport, channels: Set<string>): Transport {
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
    replies: transport.replies,
    channelStats: (names) => transport.channelStats(names),
    ping: () => transport.ping(),
    close: () => transport.close(),
  };
}

function registerSuite(
  queueType: RabbitMqQueueType,
  exchange: string,
  connectionPrefix: string,
  channels: Set<string>,
): void {
  runTransportConformance({
    name: `rabbitmq (${queueType} queues)`,
    probe: probeRabbit,
    createTransport: () =>
      recording(
        new RabbitMqTransport({
          url: RABBIT_URL,
          exchange,
          queueType,
          connectionName: `${connectionPrefix}-conn`,
          reconnect: { initialDelayMs: 20, maxDelayMs: 1_000 },
        }),
        channels,
      ),
    // Only this suite's connections: other suites on the same broker keep theirs.
    dropConnections: async () => {
      await dropConnections(connectionPrefix);
    },
    replyChannelExists: queueExists,
  });
}
