import { ConfigurationError } from '../errors.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '../resilience/stores.js';
import type { Transport } from '../transport/types.js';
import type { ServiceRoute } from './service-map.js';
import { DEFAULT_TRANSPORT } from './service-map.js';

const WHAT_TO_PASS =
  "pass deadLetters: a durable store (e.g. new SqliteDeadLetterStore('./dead-letters.db')), or new InMemoryDeadLetterStore() to keep them in memory on purpose";

/**
 * The dead-letter store a service uses when its options name none: the durable store its own
 * transport offers through {@link Transport.deadLetterStore} (on the broker itself), so that no
 * failure is kept only in memory. A transport given as an instance is asked at once; one given as
 * a URL is created on first use, so its store is resolved lazily — `start()` resolves it before
 * consuming. Throws (or, for a URL, rejects at start) a ConfigurationError saying what to pass
 * when the transport offers no store.
 */
export function defaultDeadLetterStore(
  service: string,
  transports: Readonly<Record<string, string | Transport>>,
  services: Readonly<Record<string, ServiceRoute>> | undefined,
  transportOf: () => Promise<Transport>,
): TransportDeadLetterStore {
  const names = Object.keys(transports);
  const transportName =
    services?.[service]?.transport ?? (DEFAULT_TRANSPORT in transports ? DEFAULT_TRANSPORT : names[0]);
  const spec = transportName === undefined ? undefined : transports[transportName];
  if (spec !== undefined && typeof spec !== 'string') {
    if (typeof spec.deadLetterStore !== 'function') {
      throw new ConfigurationError(
        `transport '${spec.name}' of service '${service}' offers no durable dead-letter store: ${WHAT_TO_PASS}`,
      );
    }
    return new TransportDeadLetterStore(service, async () => spec);
  }
  return new TransportDeadLetterStore(service, transportOf);
}

/**
 * A {@link DeadLetterStore} that opens its transport's store on first use and forwards every
 * call to it.
 */
export class TransportDeadLetterStore implements DeadLetterStore {
  readonly #service: string;
  readonly #transportOf: () => Promise<Transport>;
  #store: Promise<DeadLetterStore> | undefined;

  constructor(service: string, transportOf: () => Promise<Transport>) {
    this.#service = service;
    this.#transportOf = transportOf;
  }

  /** The store of the transport; rejects with a ConfigurationError when the transport offers none. */
  resolve(): Promise<DeadLetterStore> {
    this.#store ??= this.#transportOf().then((transport) => {
      if (typeof transport.deadLetterStore !== 'function') {
        throw new ConfigurationError(
          `transport '${transport.name}' of service '${this.#service}' offers no durable dead-letter store: ${WHAT_TO_PASS}`,
        );
      }
      return transport.deadLetterStore(this.#service);
    });
    this.#store.catch(() => {
      this.#store = undefined;
    });
    return this.#store;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    return (await this.resolve()).add(record);
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetterRecord[]> {
    return (await this.resolve()).list(filter);
  }

  async count(filter?: DeadLetterFilter): Promise<number> {
    return (await this.resolve()).count(filter);
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    return (await this.resolve()).get(id);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.resolve()).delete(id);
  }

  /**
   * Close the transport's store (never the transport). Idempotent. A later call opens it again
   * through the transport, which rejects with SY_CLOSED once the transport is closed.
   */
  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    if (store) await (await store.catch(() => undefined))?.close?.();
  }
}
