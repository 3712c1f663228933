import type { Transport } from '@switchyard/core/transport';

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
}
