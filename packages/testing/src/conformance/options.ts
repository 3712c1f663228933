import type { Transport, TransportCapabilities } from '@switchyard/core/transport';

/**
 * How a transport package runs the conformance suite:
 *
 * ```ts
 * runTransportConformance({
 *   name: 'rabbitmq',
 *   probe: () => pingRabbit(),            // rejects when the broker is unreachable
 *   createTransport: () => new RabbitMqTransport({ url, prefix }),
 *   dropConnections: () => execa('rabbitmqctl', ['close_all_connections']),
 * });
 * ```
 *
 * Every call of `createTransport` returns a new, unconnected transport on the
 * same broker; channel names used by the suite are unique per scenario, so
 * scenarios never see each other's messages.
 */
export interface ConformanceOptions {
  /** Transport name for the describe block. */
  readonly name: string;
  /** A fresh transport on the shared broker. */
  createTransport(): Transport | Promise<Transport>;
  /**
   * Rejects when the broker cannot be reached. The suite then skips with a line
   * that says why, or fails when SWITCHYARD_REQUIRE_BROKERS=1.
   */
  probe?(): Promise<void>;
  /** Force-close every client connection to the broker (reconnect scenarios); omit to skip them. */
  dropConnections?(): Promise<void>;
  /**
   * Make the broker go away and come back, for the `broker-outage` scenario;
   * omit to skip it. See {@link OutageControl}.
   */
  readonly outage?: OutageControl;
  /** Scenarios to skip, by name, with the written reason. */
  readonly skip?: Readonly<Record<string, string>>;
  /** Scale factor for message counts in heavy scenarios (default 1). */
  readonly scale?: number;
  /**
   * The transport's capabilities, when known without creating one. Otherwise
   * the suite reads them from a transport made by `createTransport` at
   * registration (when it returns synchronously; construction does no I/O) or
   * in `beforeAll`.
   */
  readonly capabilities?: TransportCapabilities;
  /** How long a scenario waits for expected deliveries before failing (default 20 s). */
  readonly waitTimeoutMs?: number;
  /**
   * How much earlier than due a natively delayed message or nack may arrive,
   * for clock granularity and skew between the test and the broker (default 100 ms).
   */
  readonly delaySlackMs?: number;
  /**
   * Asks the broker (not the transport) whether the reply channel at `address`
   * still exists, with anything it holds. Given, the `request-caller-crash`
   * scenario also checks that a crashed caller's channel expires, and
   * `reply-channel-basics` that a closed one is gone.
   */
  replyChannelExists?(address: string): Promise<boolean>;
  /** Only run the scenarios with these names (debugging a transport); default all. */
  readonly only?: readonly string[];
}

/**
 * How the `broker-outage` scenario takes the broker away from every transport
 * made by `createTransport`, and gives it back. Never restart a broker other
 * suites share: put a {@link TcpProxy} from this package in front of it (the
 * transports connect through the proxy; `cut` = `proxy.refuse()`, `restore` =
 * `proxy.restore()`), or start an instance of the test's own.
 */
export interface OutageControl {
  /** Take the broker away: cut every connection and refuse new ones (or kill the test's own broker). */
  cut(): Promise<void>;
  /** Bring it back (listen again, or restart the test's own broker with its data). Resolves once it accepts connections. */
  restore(): Promise<void>;
  /** How long each outage lasts, between `cut` and `restore` (default 3,000 ms). */
  readonly downMs?: number;
  /** Messages sent in all (default 10,000, times `scale`). */
  readonly messages?: number;
  /** Where the broker is, for the printed summary (e.g. `proxy in front of 127.0.0.1:5672`). */
  readonly describe?: string;
}
