import type { NatsConnection } from '@nats-io/transport-node';
import { nuid } from '@nats-io/transport-node';
import { ErrorCode, TransportError, type TransportMessage } from '@switchyard/core/transport';
import { AckMux, PublishFailure } from './ack-mux.js';
import { encodedHeaders, headerBlock } from './codec.js';
import type { ResolvedOptions } from './options.js';

/** One message and the subject it goes to. */
export interface Outgoing {
  readonly subject: string;
  readonly message: TransportMessage;
  /**
   * A message for a foreign subject (`sendEndpoint`): headers exactly as given, and
   * `Nats-Msg-Id` = the message id, so the foreign stream's duplicate window applies to it.
   */
  readonly raw?: boolean;
}

/**
 * Publishes to JetStream and waits for the stream's acknowledgements.
 *
 * Every message of a call is published at once (pipelined on the connection,
 * in order, through one {@link AckMux}) and the call resolves when the stream
 * acknowledged each one. A message whose acknowledgement does not come
 * (timeout, connection lost, no responders while the server restarts) is
 * published again, with the same `Nats-Msg-Id`, until `sendTimeoutMs` has
 * passed: the stream's duplicate window drops the copy if the first one was
 * stored, so a retried message is stored once. The id is fresh per call
 * (`<message id>.<nuid>.<n>`), not the message id itself, because core
 * legitimately sends the same message id again (delayed retries, dead-letter
 * replays), and those copies must not be dropped as duplicates.
 */
export class Publisher {
  readonly #nc: () => Promise<NatsConnection>;
  readonly #options: ResolvedOptions;
  readonly #onRetry: () => Promise<void>;
  #mux: { nc: NatsConnection; mux: AckMux } | undefined;
  #inFlight = 0;
  readonly #idle: Array<() => void> = [];

  constructor(nc: () => Promise<NatsConnection>, options: ResolvedOptions, onRetry: () => Promise<void>) {
    this.#nc = nc;
    this.#options = options;
    this.#onRetry = onRetry;
  }

  /** Publish every message; resolves once all are stored, rejects with SY_SEND_FAILED otherwise. */
  async publish(batch: readonly Outgoing[]): Promise<void> {
    this.#inFlight++;
    try {
      // The connection object lives until the transport closes (the client reconnects inside it).
      const mux = this.#mux !== undefined && !this.#mux.nc.isClosed() ? this.#mux.mux : await this.#ackMux();
      const deadline = Date.now() + this.#options.sendTimeoutMs;
      if (batch.length === 1) {
        const item = batch[0] as Outgoing;
        await this.#publishOne(mux, item, item.raw ? item.message.id : `${item.message.id}.${nuid.next()}`, deadline);
        return;
      }
      const base = nuid.next();
      await Promise.all(
        batch.map((item, n) =>
          this.#publishOne(mux, item, item.raw ? item.message.id : `${item.message.id}.${base}.${n}`, deadline),
        ),
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

  /** The connection came back: re-publish whatever waits for an acknowledgement now. */
  reconnected(): void {
    this.#mux?.mux.expireAll();
  }

  /** Stop the acknowledgement listener (the connection is closing). */
  close(): void {
    this.#mux?.mux.close();
  }

  async #ackMux(): Promise<AckMux> {
    const nc = await this.#nc();
    if (this.#mux?.nc !== nc) this.#mux = { nc, mux: new AckMux(nc) };
    return this.#mux.mux;
  }

  async #publishOne(mux: AckMux, item: Outgoing, msgID: string, deadline: number): Promise<void> {
    // Encoded once, reused by every retry.
    const headers = encodedHeaders(headerBlock(item.message, msgID, item.raw));
    for (let attempt = 0; ; attempt++) {
      const timeout = Math.max(100, Math.min(this.#options.publishAckTimeoutMs, deadline - Date.now()));
      try {
        await mux.publish(item.subject, item.message.body, headers, timeout);
        return;
      } catch (error) {
        const retry = error instanceof PublishFailure && error.retry;
        if (!retry || Date.now() + 50 >= deadline) {
          throw new TransportError(
            ErrorCode.SendFailed,
            `nats: publish to '${item.subject}' failed after ${attempt + 1} attempts: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if ((error as Error).message.startsWith('no responders')) await this.#onRetry().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)));
      }
    }
  }
}
