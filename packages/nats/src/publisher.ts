import type { JetStreamClient } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import { ErrorCode, TransportError, type TransportMessage } from '@switchyard/core/transport';
import { toNatsHeaders } from './codec.js';
import { wrapError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** One message and the subject it goes to. */
export interface Outgoing {
  readonly subject: string;
  readonly message: TransportMessage;
}

/**
 * Publishes to JetStream and waits for the stream's acknowledgements.
 *
 * Every message of a call is published at once (pipelined on the connection,
 * in order) and the call resolves when the stream acknowledged each one. A
 * message whose acknowledgement does not come (timeout, connection lost,
 * no responders while the server restarts) is published again, with the same
 * `Nats-Msg-Id`, until `sendTimeoutMs` has passed: the stream's duplicate
 * window drops the copy if the first one was stored, so a retried message is
 * stored once. The id is fresh per call (`<message id>.<nuid>`), not the
 * message id itself, because core legitimately sends the same message id
 * again (delayed retries, dead-letter replays), and those copies must not be
 * dropped as duplicates.
 */
export class Publisher {
  readonly #js: () => Promise<JetStreamClient>;
  readonly #options: ResolvedOptions;
  readonly #onRetry: (error: unknown) => Promise<void>;
  #inFlight = 0;
  readonly #idle: Array<() => void> = [];

  constructor(
    js: () => Promise<JetStreamClient>,
    options: ResolvedOptions,
    onRetry: (error: unknown) => Promise<void>,
  ) {
    this.#js = js;
    this.#options = options;
    this.#onRetry = onRetry;
  }

  /** Publish every message; resolves once all are stored, rejects with SY_SEND_FAILED otherwise. */
  async publish(batch: readonly Outgoing[]): Promise<void> {
    this.#inFlight++;
    try {
      const js = await this.#js();
      const deadline = Date.now() + this.#options.sendTimeoutMs;
      const base = nuid.next();
      await Promise.all(
        batch.map((item, n) => this.#publishOne(js, item, `${item.message.id}.${base}.${n}`, deadline)),
      );
    } finally {
      if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves when no publish is running. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #publishOne(js: JetStreamClient, item: Outgoing, msgID: string, deadline: number): Promise<void> {
    const headers = toNatsHeaders(item.message);
    for (let attempt = 0; ; attempt++) {
      try {
        await js.publish(item.subject, item.message.body, {
          msgID,
          headers,
          timeout: Math.max(100, Math.min(this.#options.publishAckTimeoutMs, deadline - Date.now())),
        });
        return;
      } catch (error) {
        if (Date.now() + 50 >= deadline || isPermanent(error)) {
          throw wrapError(
            error,
            ErrorCode.SendFailed,
            `publish to '${item.subject}' failed after ${attempt + 1} attempts`,
          );
        }
        await this.#onRetry(error).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)));
      }
    }
  }
}

/** Errors a retry cannot fix: the connection was closed on purpose, or the server refused the message itself. */
function isPermanent(error: unknown): boolean {
  if (error instanceof TransportError && error.code === ErrorCode.Closed) return true;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'ClosedConnectionError') return true;
  const message = error instanceof Error ? error.message : '';
  return /maximum payload|message size exceeds/i.test(message);
}
