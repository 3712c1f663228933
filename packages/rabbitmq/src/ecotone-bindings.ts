import type { Topology } from '@switchyard/core/transport';

/**
 * With `wire: 'ecotone'`: a channel named like an Ecotone service queue,
 * `distributed_<service>`, is also bound by `<service>`, the routing key
 * Ecotone's AMQP distributed bus publishes that service's commands with.
 * (The header mapping itself is broker-neutral and lives in core.)
 */
export function withEcotoneBindings(topology: Topology): Topology {
  return {
    channels: topology.channels.map((channel) => {
      const service = channel.name.startsWith('distributed_') ? channel.name.slice('distributed_'.length) : '';
      if (service === '' || channel.subscriptions.includes(service)) return channel;
      return { ...channel, subscriptions: [...channel.subscriptions, service] };
    }),
  };
}
