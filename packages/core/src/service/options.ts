import type { MetadataPropagation } from '../bus/outgoing.js';
import type { OutboxRelayOptions } from '../outbox/relay.js';
import type { RetryPolicyOptions } from '../resilience/retry-policy.js';
import type { DeadLetterStore, InboxStore, OutboxStore } from '../resilience/stores.js';
import type { FinalFailureHandler, FinalFailureStrategy } from '../runtime/stages/final-failure.js';
import type { TelemetryOptions } from '../telemetry/telemetry.js';
import type { Transport } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ServiceRoute } from './service-map.js';

/** Options of {@link createService}. Invalid values throw a ConfigurationError at construction. */
export interface ServiceOptions {
  /** The service name: other services send commands to it by this name. */
  readonly name: string;
  /**
   * One transport for everything: a URL (`memory://`, `sqlite:./x.db`, `amqp://…`) or an instance.
   * Without `transport` and `transports`: the embedded SQLite database
   * `sqlite:./.switchyard/switchyard.db` (directory created on first use; needs `@switchyard/sqlite`).
   */
  readonly transport?: string | Transport;
  /** Several named transports; the one named `default` (or the first) serves unmapped services. */
  readonly transports?: Readonly<Record<string, string | Transport>>;
  /** The service map: where other services (and this one) live. */
  readonly services?: Readonly<Record<string, ServiceRoute>>;
  /** Reject sends to services that are not in `services` (default false). */
  readonly strictServiceMap?: boolean;
  /** Deliveries handled at once (default 8). */
  readonly concurrency?: number;
  /** Deliveries fetched ahead (default: the transport's choice). */
  readonly prefetch?: number;
  /** Default retry policy of this service's handlers. */
  readonly retry?: RetryPolicyOptions;
  /**
   * Where dead letters go. Default: the durable store the service's own transport offers on its
   * broker (`Transport.deadLetterStore`: a `<service>.dead-letters` queue, stream, topic or table);
   * in memory only on `memory://`. A transport that offers none needs this option (construction, or
   * `start()` for a URL, throws a ConfigurationError saying so); pass `new InMemoryDeadLetterStore()`
   * to keep them in memory on purpose.
   */
  readonly deadLetters?: DeadLetterStore;
  /** Dedup of redeliveries (default: an in-memory inbox of the last 10,000 handled messages; `false` disables it). */
  readonly inbox?: InboxStore | false;
  /** An outbox whose records the service forwards while it runs. */
  readonly outbox?: OutboxStore;
  readonly outboxRelay?: OutboxRelayOptions;
  /** Largest message accepted on receive, in bytes (default 1 MiB, never above the transport's limit). */
  readonly maxMessageBytes?: number;
  /** Bound on waiting for in-flight handlers at stop (default 30 s). */
  readonly drainTimeoutMs?: number;
  /**
   * What `start()` does when the broker cannot be reached (default false):
   * - false: `start()` rejects with `SY_UNREACHABLE` naming the broker address
   *   within `connectTimeoutMs`, and the service stays stopped (a supervisor
   *   sees the failure at once);
   * - true: `start()` resolves at once and the service keeps trying in the
   *   background (provision, then consume) with backoff until it succeeds or
   *   `stop()` is called; `health()` shows `consuming: false` meanwhile. Use it
   *   for long-running workers that may boot before their broker.
   */
  readonly waitForBroker?: boolean;
  /** Bound on one attempt to provision and attach the consumer at start (default 5,000 ms). */
  readonly connectTimeoutMs?: number;
  /**
   * Stop gracefully on SIGTERM and SIGINT while started (default true); when no
   * other listener of that signal remains, the process then exits with
   * `process.exitCode` (0 unless set).
   */
  readonly handleSignals?: boolean;
  readonly clock?: Clock;
  /** Framework log lines (pino by default, level from SWITCHYARD_LOG_LEVEL); anything with pino's four methods. */
  readonly logger?: Logger;
  /**
   * OpenTelemetry spans and metrics through `@opentelemetry/api` (default: the
   * global providers, no-ops without an SDK); `false` turns them off.
   */
  readonly telemetry?: TelemetryOptions | false;
  /** Which metadata of a handled message its handler's sends carry on (default `true`: all user metadata). */
  readonly propagateMetadata?: MetadataPropagation;
  /** What happens after a handler's last retry: `deadLetter` (default), `discard` or `stop`; a handler may override it. */
  readonly finalFailure?: FinalFailureStrategy;
  /** Called with every final failure before its strategy applies (alerting, custom stores). */
  readonly onFinalFailure?: FinalFailureHandler;
  /**
   * Request/reply: send the stack of a failed handler with its error reply, so the
   * caller's `RemoteError.remoteStack` has it (default false: code, message and class name only).
   */
  readonly replyErrorStack?: boolean;
  /**
   * Request/reply: how long this instance's reply channel outlives its last sign of life
   * (default 60,000 ms). A crashed caller's channel, with any replies in it, is removed
   * once this has passed, by the next instance that opens a reply channel.
   */
  readonly replyChannelExpiryMs?: number;
}
