import type { Destination } from '../message/outbound.js';
import type { Tally, TallyCell } from './tally.js';

/**
 * What the producer spans and `sent` counts of one destination (a target
 * service, or an event's routing key) have in common, built on its first
 * message and reused: the span name, the operation, the `messaging.system` of
 * a command's route, and the counter cell per origin.
 * @internal
 */
export class SendTarget {
  /** `send` (to a service) or `publish` (an event). */
  readonly operation: 'send' | 'publish';
  /** The target service or the routing key. */
  readonly name: string;
  /** `send <service>` or `publish <routing key>`. */
  readonly spanName: string;
  readonly #kind: Destination['kind'];
  #system: string | undefined;
  readonly #sent = new Map<string, TallyCell>();

  constructor(destination: Destination) {
    this.#kind = destination.kind;
    this.operation = destination.kind === 'send' ? 'send' : 'publish';
    this.name = destination.kind === 'send' ? destination.service : destination.routingKey;
    this.spanName = `${this.operation} ${this.name}`;
  }

  /**
   * The `messaging.system` value: the names `systems` gives, comma-joined.
   * Kept for a command's destination (its route is fixed once resolved);
   * asked every time for an event (its subscribers may move to more brokers).
   */
  /** The `messaging.system` of a command's destination once known (after its first send), else undefined. */
  get knownSystem(): string | undefined {
    return this.#system;
  }

  system(systems: () => readonly string[]): string {
    if (this.#system !== undefined) return this.#system;
    const system = systems().join(',');
    if (this.#kind === 'send' && system !== '') this.#system = system;
    return system;
  }

  /** The `messaging.client.sent.messages` cell of this destination for `origin`. */
  sent(tally: Tally, origin: string): TallyCell {
    let cell = this.#sent.get(origin);
    if (cell === undefined) {
      cell = tally.cell(`${this.#kind}|${origin}|${this.name}`, () => ({
        'messaging.operation.name': this.#kind,
        'messaging.destination.name': this.name,
        'switchyard.origin': origin,
      }));
      this.#sent.set(origin, cell);
    }
    return cell;
  }
}

/** The send targets of one service, by destination. @internal */
export class SendTargets {
  readonly #services = new Map<string, SendTarget>();
  readonly #events = new Map<string, SendTarget>();

  of(destination: Destination): SendTarget {
    const byName = destination.kind === 'send' ? this.#services : this.#events;
    const name = destination.kind === 'send' ? destination.service : destination.routingKey;
    let target = byName.get(name);
    if (target === undefined) {
      target = new SendTarget(destination);
      byName.set(name, target);
    }
    return target;
  }
}
