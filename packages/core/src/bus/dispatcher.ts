import type { OutboundMessage } from '../resilience/stores.js';
import type { ServiceMap } from '../service/service-map.js';
import type { RoutedMessage, Transport, TransportMessage } from '../transport/types.js';

/**
 * Hands outbound messages to their transports through the service map:
 * commands and plain messages to the target service's channel, events to the
 * fan-out of every transport that may have subscribers. Resolves when every
 * broker confirmed; rejects if any did not (some messages of a batch may then
 * have been sent: callers that retry rely on the receiver's inbox).
 */
export class Dispatcher {
  readonly #map: ServiceMap;

  constructor(map: ServiceMap) {
    this.#map = map;
  }

  /** Send one message. */
  async dispatch(outbound: OutboundMessage): Promise<void> {
    const destination = outbound.destination;
    if (destination.kind === 'send') {
      const route = this.#map.resolvedRoute(destination.service) ?? (await this.#map.route(destination.service));
      await route.transport.send(route.channel, [outbound.message]);
      return;
    }
    const routed: RoutedMessage = { ...outbound.message, routingKey: destination.routingKey };
    const targets = await this.#map.publishTargets(destination.routingKey);
    await Promise.all(targets.map((transport) => transport.publish([routed])));
  }

  /** Send many, grouped per transport and channel so that each broker gets one batch. */
  async dispatchBatch(outbound: readonly OutboundMessage[]): Promise<void> {
    const sends = new Map<string, { service: string; messages: TransportMessage[] }>();
    const events: RoutedMessage[] = [];
    for (const item of outbound) {
      const destination = item.destination;
      if (destination.kind === 'publish') {
        events.push({ ...item.message, routingKey: destination.routingKey });
        continue;
      }
      const group = sends.get(destination.service) ?? { service: destination.service, messages: [] };
      group.messages.push(item.message);
      sends.set(destination.service, group);
    }
    const work: Promise<void>[] = [];
    for (const group of sends.values()) {
      work.push(this.#map.route(group.service).then((route) => route.transport.send(route.channel, group.messages)));
    }
    const perTransport = new Map<Transport, RoutedMessage[]>();
    for (const event of events) {
      for (const transport of await this.#map.publishTargets(event.routingKey)) {
        const batch = perTransport.get(transport) ?? [];
        batch.push(event);
        perTransport.set(transport, batch);
      }
    }
    for (const [transport, batch] of perTransport) work.push(transport.publish(batch));
    await Promise.all(work);
  }
}
