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
  /** Only run the scenarios with these names (debugging a transport); default all. */
  readonly only?: readonly string[];
}
