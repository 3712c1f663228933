import type { Redis } from 'ioredis';
import { Keys } from './codec.js';
import { scripts } from './scripts.js';

const MAX_IDS = 1_000;

interface Waiter {
  readonly id: string;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the acks of one stream into few XACK+XDEL script calls: acks that
 * arrive while a call is in flight go out together in the next one. Each
 * `ack` resolves only after the server applied the call that carried its id,
 * and rejects if that call failed (the entry then stays pending and comes back).
 */
export class AckBatcher {
  readonly #conn: Redis;
  readonly #stream: string;
  #queue: Waiter[] = [];
  #flushing = false;
  #scheduled = false;

  constructor(conn: Redis, stream: string) {
    this.#conn = conn;
    this.#stream = stream;
  }

  /** Acknowledge and delete entry `id`. Idempotent on the server (a second XACK/XDEL is a no-op). */
  ack(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, resolve, reject });
      if (!this.#flushing && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          void this.#flush();
        });
      }
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_IDS);
        try {
          await scripts.ack.run(this.#conn, [this.#stream], [Keys.group, ...batch.map((w) => w.id)]);
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
