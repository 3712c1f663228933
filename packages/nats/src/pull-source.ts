import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { ApiCode, isApiError } from './errors.js';

/** Pull requests a source keeps open at once. */
const MAX_OPEN_PULLS = 4;

/** What a {@link PullSource} needs. */
export interface PullSourceParts {
  /** Durable consumer name. */
  readonly name: string;
  /** True for a channel's event consumer. */
  readonly events: boolean;
  readonly stream: string;
  readonly prefetch: number;
  readonly pullExpiresMs: number;
  readonly js: () => Promise<JetStreamClient>;
  /** Each message received; the source counts it as held until {@link PullSource.release}. */
  readonly onMessage: (source: PullSource, msg: JsMsg) => void;
  /** The durable consumer is gone (deleted behind our back): declare it again or give up. */
  readonly onMissing: (source: PullSource) => Promise<void>;
}

/**
 * The pull loop of one durable JetStream consumer. It holds or has asked for
 * at most `prefetch` messages: once a quarter of that room is free it opens a
 * pull request for all of it, up to {@link MAX_OPEN_PULLS} open at once, so
 * the next messages are on their way while the current ones are handled.
 * Requests end by filling up or expiring after `pullExpiresMs` (so one that
 * died with the connection is replaced); a failed request backs off up to
 * 1 s. Not shared across consumers.
 */
export class PullSource {
  readonly name: string;
  readonly events: boolean;
  readonly #parts: PullSourceParts;
  #consumer: Consumer | undefined;
  /** Received and not yet released. */
  #held = 0;
  /** Asked for by open pull requests and not yet received. */
  #requested = 0;
  #fetching = 0;
  #failures = 0;
  #backoffUntil = 0;
  #stopped = false;
  readonly #iterators = new Set<{ stop(): void }>();
  #wake: (() => void) | undefined;

  constructor(parts: PullSourceParts) {
    this.#parts = parts;
    this.name = parts.name;
    this.events = parts.events;
    void this.#pull();
  }

  /** A message of this source is settled (by its handler or without it): room for another. */
  release(): void {
    this.#held--;
    this.#wake?.();
  }

  /** Stop asking for messages; open requests are stopped. Idempotent. */
  stop(): void {
    this.#stopped = true;
    for (const iterator of this.#iterators) iterator.stop();
    this.#wake?.();
  }

  async #pull(): Promise<void> {
    const { prefetch } = this.#parts;
    const threshold = Math.max(1, Math.floor(prefetch / 4));
    while (!this.#stopped) {
      const wait = this.#backoffUntil - Date.now();
      if (wait > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      const room = prefetch - this.#held - this.#requested;
      if (room < threshold || this.#fetching >= MAX_OPEN_PULLS) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      this.#requested += room;
      this.#fetching++;
      await this.#fetch(room);
    }
  }

  /** Open one pull request for `batch` messages; resolves once it is open, runs until it ends. */
  async #fetch(batch: number): Promise<void> {
    let received = 0;
    const done = (failed: boolean) => {
      this.#requested -= batch - received;
      this.#fetching--;
      if (failed) {
        this.#failures++;
        this.#backoffUntil = Date.now() + Math.min(100 * this.#failures, 1_000);
      } else this.#failures = 0;
      this.#wake?.();
    };
    let messages: Awaited<ReturnType<Consumer['fetch']>>;
    try {
      this.#consumer ??= await (await this.#parts.js()).consumers.get(this.#parts.stream, this.name);
      messages = await this.#consumer.fetch({ max_messages: batch, expires: this.#parts.pullExpiresMs });
    } catch (error) {
      await this.#missing(error);
      done(true);
      return;
    }
    this.#iterators.add(messages);
    if (this.#stopped) messages.stop();
    void (async () => {
      let failed = false;
      try {
        for await (const msg of messages) {
          received++;
          this.#requested--;
          this.#held++;
          this.#parts.onMessage(this, msg);
        }
      } catch (error) {
        failed = !this.#stopped;
        if (failed) await this.#missing(error);
      } finally {
        this.#iterators.delete(messages);
        done(failed);
      }
    })();
  }

  async #missing(error: unknown): Promise<void> {
    if (!isApiError(error, ApiCode.ConsumerNotFound) && !/consumer not found|consumer deleted/i.test(String(error))) {
      return;
    }
    this.#consumer = undefined;
    await this.#parts.onMissing(this).catch(() => {});
  }
}
