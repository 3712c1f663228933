import { ConfigurationError, ErrorCode, SwitchyardError } from '../errors.js';
import { WIRE_FORMS, type WireForm } from '../message/ecotone.js';
import { matchesPattern, validatePattern } from '../routing/pattern.js';
import { packageForUrl, transportFromUrl } from '../transport/transport-url.js';
import type { Transport } from '../transport/types.js';

/** Where one service lives. */
export interface ServiceRoute {
  /** Name of a transport in `transports` (default: `default`). */
  readonly transport?: string;
  /** Its channel (default: the service name). */
  readonly channel?: string;
  /**
   * Event patterns it subscribes to. Optional: when every service on a
   * transport declares them, events that none of them wants are not published
   * there at all.
   */
  readonly subscribes?: readonly string[];
  /**
   * Headers written on messages to this service: `cloudevents` (default) or
   * `ecotone` (CloudEvents plus Ecotone's distributed-bus headers, for a
   * service written with Ecotone). Events get Ecotone's headers on a
   * transport when an `ecotone` entry there may subscribe to them (its
   * `subscribes` matches, or it declares none). The transport must list the
   * form in `capabilities.wireForms`, or the first send to this service
   * rejects with a ConfigurationError. Messages from the service are read
   * whatever their form.
   */
  readonly wire?: WireForm;
}

/** The service map's configuration. */
export interface ServiceMapOptions {
  /** Named transports: URL or instance. */
  readonly transports: Readonly<Record<string, string | Transport>>;
  /** Where each known service lives; unknown services get the default transport and their name as channel. */
  readonly services?: Readonly<Record<string, ServiceRoute>>;
  /** Reject sends to services missing from `services` instead of defaulting (default false). */
  readonly strict?: boolean;
}

/** A resolved route: the transport and channel of a target service. */
export interface ResolvedRoute {
  readonly transportName: string;
  readonly transport: Transport;
  readonly channel: string;
  /** The entry's wire form, when it names one other than `cloudevents`. */
  readonly wire?: WireForm;
}

/** A transport an event is published on, and the wire form its subscribers need (absent: the transport's own). */
export interface PublishTarget {
  readonly transport: Transport;
  readonly wire?: WireForm;
}

/** Name under which a service's single `transport` option is registered in its service map. */
export const DEFAULT_TRANSPORT = 'default';

/**
 * The service map: which transport and channel each service lives on, so one
 * application can span several brokers. The single-broker case is a map with
 * one transport. Transports given as URLs are created on first use and owned
 * (closed) by the map; instances passed in stay the caller's to close.
 */
export class ServiceMap {
  readonly #options: ServiceMapOptions;
  readonly #resolved = new Map<string, Transport>();
  readonly #pending = new Map<string, Promise<Transport>>();
  readonly #owned = new Set<Transport>();
  readonly #routes = new Map<string, ResolvedRoute>();

  /** Validates eagerly: throws a ConfigurationError for unknown transport names, bad URLs or patterns. */
  constructor(options: ServiceMapOptions) {
    this.#options = options;
    const names = Object.keys(options.transports);
    if (names.length === 0) {
      throw new ConfigurationError(
        "no transport configured: pass { transport: 'sqlite:./switchyard.db' } or { transports: {...} }",
      );
    }
    for (const [name, value] of Object.entries(options.transports)) {
      if (typeof value === 'string') packageForUrl(value);
      else this.#resolved.set(name, value);
    }
    for (const [service, route] of Object.entries(options.services ?? {})) {
      const transport = route.transport ?? DEFAULT_TRANSPORT;
      if (!(transport in options.transports)) {
        throw new ConfigurationError(
          `service '${service}' is mapped to transport '${transport}', which is not configured: add it to transports (${names.join(', ')})`,
        );
      }
      for (const pattern of route.subscribes ?? []) validatePattern(pattern);
      if (route.wire !== undefined && !WIRE_FORMS.includes(route.wire)) {
        throw new ConfigurationError(
          `service '${service}' has wire '${String(route.wire)}': use one of ${WIRE_FORMS.join(', ')}`,
        );
      }
    }
  }

  /** Names of every configured transport. */
  get transportNames(): string[] {
    return Object.keys(this.#options.transports);
  }

  /** The route of `service`. Rejects with SY_NO_ROUTE in strict mode for an unmapped service. */
  async route(service: string): Promise<ResolvedRoute> {
    return this.resolvedRoute(service) ?? this.#resolveRoute(service);
  }

  /**
   * The route of `service` if its transport is already created, without a
   * promise: the hot path of every send. Undefined until `route` ran once.
   */
  resolvedRoute(service: string): ResolvedRoute | undefined {
    return this.#routes.get(service);
  }

  async #resolveRoute(service: string): Promise<ResolvedRoute> {
    const entry = this.#options.services?.[service];
    if (entry === undefined && this.#options.strict) {
      throw new SwitchyardError(
        ErrorCode.NoRoute,
        `service '${service}' is not in the service map: add it to services`,
      );
    }
    const transportName = entry?.transport ?? this.#defaultTransportName();
    const transport = await this.transport(transportName);
    const wire = foreignWire(entry?.wire);
    if (wire !== undefined) checkWire(service, transportName, transport, wire);
    const route: ResolvedRoute = {
      transportName,
      transport,
      channel: entry?.channel ?? service,
      ...(wire === undefined ? {} : { wire }),
    };
    if (this.#routes.size < 10_000) this.#routes.set(service, route);
    return route;
  }

  /**
   * The transports an event named `name` must be published on, each with the
   * wire form an entry there that may subscribe asks for (`ecotone` wins:
   * its headers come on top of the CloudEvents ones, which other readers use).
   */
  async publishTargets(name: string): Promise<PublishTarget[]> {
    const targets: PublishTarget[] = [];
    for (const transportName of this.transportNames) {
      if (this.#nobodyWants(transportName, name)) continue;
      const transport = await this.transport(transportName);
      const wire = this.#eventWire(transportName, name);
      if (wire === undefined) targets.push({ transport });
      else {
        checkWire(`(subscriber of ${name})`, transportName, transport, wire);
        targets.push({ transport, wire });
      }
    }
    return targets;
  }

  /** `name` of every transport created so far (for telemetry: the messaging systems an event went to). */
  resolvedTransportNames(): string[] {
    return [...new Set([...this.#resolved.values()].map((transport) => transport.name))];
  }

  /** The transport named `name`, created from its URL on first use. */
  async transport(name: string): Promise<Transport> {
    const ready = this.#resolved.get(name);
    if (ready) return ready;
    let pending = this.#pending.get(name);
    if (!pending) {
      const url = this.#options.transports[name];
      if (typeof url !== 'string') {
        throw new ConfigurationError(
          `transport '${name}' is not configured: add it to transports (${this.transportNames.join(', ')})`,
        );
      }
      pending = transportFromUrl(url).then((transport) => {
        this.#resolved.set(name, transport);
        this.#owned.add(transport);
        return transport;
      });
      pending.catch(() => this.#pending.delete(name));
      this.#pending.set(name, pending);
    }
    return pending;
  }

  /** Describe the map for the CLI's topology view. */
  describe(): { transports: Record<string, string>; services: Record<string, ServiceRoute> } {
    const transports: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.#options.transports)) {
      transports[name] = typeof value === 'string' ? value : `instance:${value.name}`;
    }
    return { transports, services: { ...(this.#options.services ?? {}) } };
  }

  /** Close the transports this map created. Idempotent. */
  async close(): Promise<void> {
    const owned = [...this.#owned];
    this.#owned.clear();
    await Promise.all(owned.map((transport) => transport.close()));
  }

  #defaultTransportName(): string {
    return DEFAULT_TRANSPORT in this.#options.transports ? DEFAULT_TRANSPORT : (this.transportNames[0] as string);
  }

  #servicesOn(transportName: string): ServiceRoute[] {
    return Object.values(this.#options.services ?? {}).filter(
      (route) => (route.transport ?? this.#defaultTransportName()) === transportName,
    );
  }

  #eventWire(transportName: string, eventName: string): WireForm | undefined {
    const wants = (route: ServiceRoute) =>
      route.subscribes === undefined || route.subscribes.some((pattern) => matchesPattern(pattern, eventName));
    return this.#servicesOn(transportName).some((route) => route.wire === 'ecotone' && wants(route))
      ? 'ecotone'
      : undefined;
  }

  #nobodyWants(transportName: string, eventName: string): boolean {
    const services = this.#servicesOn(transportName);
    if (services.length === 0 || services.some((route) => route.subscribes === undefined)) return false;
    return !services.some((route) => route.subscribes?.some((pattern) => matchesPattern(pattern, eventName)));
  }
}

/** `wire` unless it is the default form (which needs nothing of the transport). */
function foreignWire(wire: WireForm | undefined): WireForm | undefined {
  return wire === 'cloudevents' ? undefined : wire;
}

/** Throws a ConfigurationError when `transport` cannot write `wire` per message. */
function checkWire(service: string, transportName: string, transport: Transport, wire: WireForm): void {
  if (transport.capabilities.wireForms?.includes(wire)) return;
  throw new ConfigurationError(
    `service '${service}' has wire '${wire}', which transport '${transportName}' (${transport.name}) cannot write: ` +
      `use a transport that lists it in capabilities.wireForms (${wire === 'ecotone' ? 'RabbitMQ, Kafka, SQS with fanout direct' : 'none'}), or drop the option`,
  );
}
