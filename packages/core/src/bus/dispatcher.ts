import type { OutboundMessage } from '../message/outbound.js';
import type { ServiceMap } from '../service/service-map.js';
import type { RoutedMessage, Transport, TransportMessage } from '../transport/types.js';
import type { Observers } from '../util/observers.js';

/**
 * Why a message is being sent: `send` (the distributed bus or a handler's
 * context), `retry` (a delayed retry re-sent by the receiver), `replay` (a
 * dead letter replayed), `enqueue` (an asynchronous handler's message put on
 * its own service's channel), `outbox` (forwarded by the outbox relay).
 */
export type SendOrigin = 'send' | 'retry' | 'replay' | 'enqueue' | 'outbox';

/**
 * The one send path: every message that leaves a service goes through here.
 * Hands outbound messages to their transports through the service map —
 * commands, plain messages, retries, replays and asynchronous enqueues to the
 * target service's channel, events to the fan-out of every transport that may
 * have subscribers — and, once every broker confirmed, tells observers
 * (`sent`, with the origin). Resolves when every broker confirmed; rejects if
 * any did not (some messages of a batch may then have been sent: callers that
 * retry rely on the receiver's inbox), and then reports nothing.
 * @internal Used by Switchyard's own packages (the service, the CLI); not a stable API.
 */
export class Dispatcher {
  readonly #map: ServiceMap;
  readonly #observers: Observers | undefined;

  /** `observers` get `sent` for every confirmed message; without them nothing is reported. */
  constructor(map: ServiceMap, observers?: Observers) {
    this.#map = map;
    this.#observers = observers;
  }

  /** Send one message. */
  async dispatch(outbound: OutboundMessage, origin: SendOrigin = 'send'): Promise<void> {
    const destination = outbound.destination;
    if (destination.kind === 'send') {
      const route = this.#map.resolvedRoute(destination.service) ?? (await this.#map.route(destination.service));
      await route.transport.send(route.channel, [outbound.message]);
    } else {
      const routed: RoutedMessage = { ...outbound.message, routingKey: destination.routingKey };
      const targets = await this.#map.publishTargets(destination.routingKey);
      await Promise.all(targets.map((transport) => transport.publish([routed])));
    }
    if (this.#observers?.has('sent')) this.#observers.emit('sent', { outbound, origin });
  }

  /** Send many, grouped per transport and channel so that each broker gets one batch. */
  async dispatchBatch(outbound: readonly OutboundMessage[], origin: SendOrigin = 'send'): Promise<void> {
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
    if (this.#observers?.has('sent'))
      for (const item of outbound) this.#observers.emit('sent', { outbound: item, origin });
  }
}
