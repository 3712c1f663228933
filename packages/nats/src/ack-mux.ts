import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** A JetStream publish acknowledgement. */
export interface PubAck {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

/** Why a publish got no acknowledgement; `retry` when publishing again (same Nats-Msg-Id) may succeed. */
export class PublishFailure extends Error {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.name = 'PublishFailure';
    this.retry = retry;
  }
}

interface Pending {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: PublishFailure) => void;
  readonly deadline: number;
}

const decoder = new TextDecoder();

/**
 * JetStream publishes with acknowledgements on one connection, the way the
 * Go client's `PublishAsync` does: one wildcard reply subscription for every
 * acknowledgement and one timer sweep, instead of a request (reply mux entry,
 * timer and error objects) per message. Pipelined: any number of publishes
 * wait at once. A publish whose acknowledgement does not come within its
 * timeout, or that the server answers with "no responders" (stream not
 * there, server restarting), rejects with a retryable {@link PublishFailure};
 * an error the stream returns (e.g. a wrong expected sequence) is not
 * retryable. The client re-subscribes after a reconnect by itself.
 */
export class AckMux {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #subscription: Subscription;
  readonly #pending = new Map<string, Pending>();
  readonly #sweep: NodeJS.Timeout;
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#inbox = createInbox();
    this.#subscription = nc.subscribe(`${this.#inbox}.*`, { callback: (_error, msg) => this.#reply(msg) });
    this.#sweep = setInterval(() => this.#expire(), 50);
    this.#sweep.unref();
  }

  /** Publish `data` to `subject` and resolve with the stream's acknowledgement. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<PubAck> {
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, deadline: Date.now() + timeoutMs });
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${token}`, headers });
      } catch (error) {
        this.#pending.delete(token);
        reject(new PublishFailure(`publish to '${subject}' failed: ${String(error)}`, !this.#nc.isClosed()));
      }
    });
  }

  /**
   * Give up waiting for every acknowledgement now (retryable): after a reconnect, publishes sent
   * into the old connection will not be answered, and their senders re-publish (same Nats-Msg-Id)
   * at once instead of after their timeout.
   */
  expireAll(): void {
    for (const pending of this.#pending.values())
      pending.reject(new PublishFailure('connection was re-established', true));
    this.#pending.clear();
  }

  /** Stop listening; every waiting publish rejects (not retryable). */
  close(): void {
    clearInterval(this.#sweep);
    this.#subscription.unsubscribe();
    for (const pending of this.#pending.values()) pending.reject(new PublishFailure('connection closed', false));
    this.#pending.clear();
  }

  #reply(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length + 1);
    const pending = this.#pending.get(token);
    if (!pending) return;
    this.#pending.delete(token);
    const status = msg.headers?.code ?? 0;
    if (status === 503) {
      pending.reject(new PublishFailure('no responders: the stream is not available', true));
      return;
    }
    let reply: {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: { code?: number; err_code?: number; description?: string };
    };
    try {
      reply = JSON.parse(decoder.decode(msg.data));
    } catch {
      pending.reject(new PublishFailure(`unreadable acknowledgement (status ${status})`, true));
      return;
    }
    if (reply.error || typeof reply.stream !== 'string' || typeof reply.seq !== 'number') {
      const e = reply.error;
      pending.reject(
        new PublishFailure(
          `stream refused the message: ${e?.description ?? 'no acknowledgement'} (${e?.err_code ?? status})`,
          false,
        ),
      );
      return;
    }
    pending.resolve({ stream: reply.stream, seq: reply.seq, duplicate: reply.duplicate === true });
  }

  #expire(): void {
    if (this.#pending.size === 0) return;
    const now = Date.now();
    for (const [token, pending] of this.#pending) {
      // Entries are in publish order with (nearly) equal timeouts: the first one not yet due ends the sweep.
      if (pending.deadline > now) break;
      this.#pending.delete(token);
      pending.reject(new PublishFailure('no acknowledgement in time', true));
    }
  }
}
