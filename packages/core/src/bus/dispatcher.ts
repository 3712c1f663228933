import { runSendInterceptors } from '../interceptors/send-chain.js';
import type { Interceptor } from '../interceptors/types.js';
import type { WireForm } from '../message/ecotone.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { ServiceMap } from '../service/service-map.js';
import type { ProducerSpan } from '../telemetry/producer-span.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { RoutedMessage, Transport, TransportMessage } from '../transport/types.js';
import type { Observers } from '../util/observers.js';

/**
 * What the dispatcher wraps around each send: the service's send interceptors
 * (in the order registered) and its producer spans.
 * @internal
 */
export interface SendHooks {
  readonly service: string;
  /** Live list: interceptors registered later apply to later sends. */
  readonly interceptors: readonly Interceptor[];
  readonly telemetry?: Telemetry;
}

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
 * (`sent`, with the origin; on the hot path only when one listened as the send
 * began). Resolves when every broker confirmed; rejects if
 * any did not (some messages of a batch may then have been sent: callers that
 * retry rely on the receiver's inbox), and then reports nothing.
 * @internal Used by Switchyard's own packages (the service, the CLI); not a stable API.
 */
export class Dispatcher {
  readonly #map: ServiceMap;
  readonly #observers: Observers | undefined;
  readonly #hooks: SendHooks | undefined;

  /**
   * `observers` get `sent` for every confirmed message; without them nothing is reported.
   * `hooks`: the service's send interceptors and producer spans, around every send.
   */
  constructor(map: ServiceMap, observers?: Observers, hooks?: SendHooks) {
    this.#map = map;
    this.#observers = observers;
    this.#hooks = hooks;
  }

  /**
   * Send one message, through the send interceptors (which may change its
   * metadata or refuse it with SY_SEND_REJECTED) and inside a PRODUCER span
   * whose context the message carries.
   */
  dispatch(outbound: OutboundMessage, origin: SendOrigin = 'send'): Promise<void> {
    const hooks = this.#hooks;
    if (hooks === undefined || hooks.interceptors.length === 0) return this.#traced(outbound, origin);
    return runSendInterceptors(hooks.service, hooks.interceptors, outbound, origin, (ready) =>
      this.#traced(ready, origin),
    );
  }

  #traced(outbound: OutboundMessage, origin: SendOrigin): Promise<void> {
    let producer: ProducerSpan | undefined;
    try {
      producer = this.#hooks?.telemetry?.startProducer(outbound, origin);
    } catch (error) {
      return Promise.reject(error);
    }
    // No span: the send's own promise, not one more async frame around it.
    if (producer === undefined) return this.#send(outbound, origin);
    return this.#sendInSpan(producer, origin);
  }

  async #sendInSpan(producer: ProducerSpan, origin: SendOrigin): Promise<void> {
    try {
      await this.#send(producer.outbound, origin);
    } catch (error) {
      this.#endProducer(producer, error);
      throw error;
    }
    this.#endProducer(producer);
  }

  #endProducer(producer: ProducerSpan, error?: unknown): void {
    this.#hooks?.telemetry?.endProducer(producer, () => this.#systems(producer.outbound), error);
  }

  /** The names of the transports an outbound message went to. */
  #systems(outbound: OutboundMessage): readonly string[] {
    const destination = outbound.destination;
    return destination.kind === 'send'
      ? [this.#map.resolvedRoute(destination.service)?.transport.name ?? '']
      : this.#map.resolvedTransportNames();
  }

  #send(outbound: OutboundMessage, origin: SendOrigin): Promise<void> {
    const destination = outbound.destination;
    const route = destination.kind === 'send' ? this.#map.resolvedRoute(destination.service) : undefined;
    if (route === undefined) return this.#sendSlow(outbound, origin);
    // The hot path (a command to a service already routed): the transport's own promise, without the
    // async frame and awaits around it. A transport that throws instead of rejecting still rejects here.
    let sent: Promise<void>;
    try {
      sent = route.transport.send(route.channel, [withWire(outbound.message, route.wire)]);
    } catch (error) {
      return Promise.reject(error);
    }
    // Nobody listens to `sent` (telemetry off, no spy): no reaction to wait for the confirm. A listener
    // added while this send is in flight is not told about it.
    if (this.#observers?.has('sent') !== true) return sent;
    return sent.then(() => this.#reportSent(outbound, origin));
  }

  #reportSent(outbound: OutboundMessage, origin: SendOrigin): void {
    if (this.#observers?.has('sent')) this.#observers.emit('sent', { outbound, origin });
  }

  async #sendSlow(outbound: OutboundMessage, origin: SendOrigin): Promise<void> {
    const destination = outbound.destination;
    if (destination.kind === 'send') {
      const route = await this.#map.route(destination.service);
      await route.transport.send(route.channel, [withWire(outbound.message, route.wire)]);
    } else {
      const routed: RoutedMessage = { ...outbound.message, routingKey: destination.routingKey };
      const targets = await this.#map.publishTargets(destination.routingKey);
      await Promise.all(targets.map((target) => target.transport.publish([withWire(routed, target.wire)])));
    }
    this.#reportSent(outbound, origin);
  }

  /**
   * Send many, grouped per transport and channel so that each broker gets one
   * batch, each message in its own PRODUCER span (its parent: the trace the
   * message carries). With send interceptors registered, each message is
   * dispatched on its own instead (interceptors wrap one send).
   */
  async dispatchBatch(outbound: readonly OutboundMessage[], origin: SendOrigin = 'send'): Promise<void> {
    if (this.#hooks !== undefined && this.#hooks.interceptors.length > 0) {
      await Promise.all(outbound.map((item) => this.dispatch(item, origin)));
      return;
    }
    const telemetry = this.#hooks?.telemetry;
    const producers: ProducerSpan[] = [];
    if (telemetry !== undefined) {
      outbound = outbound.map((item) => {
        const producer = telemetry.startProducer(item, origin);
        if (producer === undefined) return item;
        producers.push(producer);
        return producer.outbound;
      });
    }
    try {
      await this.#sendBatch(outbound, origin);
    } catch (error) {
      for (const producer of producers) this.#endProducer(producer, error);
      throw error;
    }
    for (const producer of producers) this.#endProducer(producer);
  }

  async #sendBatch(outbound: readonly OutboundMessage[], origin: SendOrigin): Promise<void> {
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
      work.push(
        this.#map
          .route(group.service)
          .then((route) =>
            route.transport.send(
              route.channel,
              route.wire === undefined ? group.messages : group.messages.map((m) => withWire(m, route.wire)),
            ),
          ),
      );
    }
    const perTransport = new Map<Transport, RoutedMessage[]>();
    for (const event of events) {
      for (const target of await this.#map.publishTargets(event.routingKey)) {
        const batch = perTransport.get(target.transport) ?? [];
        batch.push(withWire(event, target.wire));
        perTransport.set(target.transport, batch);
      }
    }
    for (const [transport, batch] of perTransport) work.push(transport.publish(batch));
    await Promise.all(work);
    if (this.#observers?.has('sent'))
      for (const item of outbound) this.#observers.emit('sent', { outbound: item, origin });
  }
}

/** `message` marked with a service map entry's wire form; the message itself when the entry names none. */
function withWire<M extends TransportMessage>(message: M, wire: WireForm | undefined): M {
  return wire === undefined ? message : { ...message, wire };
}
