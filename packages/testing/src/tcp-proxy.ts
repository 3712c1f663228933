import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Where a {@link TcpProxy} forwards to. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/**
 * A TCP proxy on 127.0.0.1 that a test controls, to play a broker outage
 * without touching the broker other suites share:
 *
 * - {@link cut}: destroy every open connection (both sides see a reset), as a
 *   broker restart or a network drop would;
 * - {@link refuse}: stop listening, so new connections get ECONNREFUSED, as a
 *   broker that is down; {@link restore} listens again on the same port;
 * - {@link stall}: keep connections open but stop forwarding bytes in both
 *   directions (TCP backpressure holds them), as a paused (SIGSTOP) broker or a
 *   black-holed network; {@link restore} forwards what was held.
 *
 * - {@link loseNextReply}: discard the next bytes the broker sends back and
 *   close that connection, so the client never hears that its command was
 *   executed (the case where a driver re-sends it after reconnecting).
 *
 * `outage(ms)` combines cut + refuse and restores after `ms`. Every method is
 * idempotent; `close` ends everything. The proxy never modifies bytes.
 */
export class TcpProxy {
  readonly target: ProxyTarget;
  readonly #pairs = new Set<Pair>();
  #server: Server | undefined;
  #port = 0;
  #stalled = false;
  #refusing = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #loseReply: { readonly match: string | undefined } | undefined;
  /** Connections accepted so far (a reconnect shows up as one more). */
  connections = 0;
  /** Replies lost so far through {@link loseNextReply}. */
  repliesLost = 0;

  private constructor(target: ProxyTarget) {
    this.target = target;
  }

  /** Start a proxy to `target`, listening on `port` (default: a free one). */
  static async start(target: ProxyTarget, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.#listen(port);
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#port;
  }

  /** `host:port` of the proxy, for URLs. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Connections open through the proxy right now. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Destroy every open connection; new ones are still accepted (unless refusing). */
  cut(): void {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Cut every connection and refuse new ones (stop listening) until {@link restore}, or for `forMs`. */
  async refuse(forMs?: number): Promise<void> {
    this.cut();
    if (!this.#refusing) {
      this.#refusing = true;
      const server = this.#server;
      this.#server = undefined;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#restoreAfter(forMs);
  }

  /** Stop forwarding bytes on every connection, open or new, until {@link restore}, or for `forMs`. */
  stall(forMs?: number): void {
    this.#stalled = true;
    for (const pair of this.#pairs) {
      pair.client.pause();
      pair.upstream.pause();
    }
    this.#restoreAfter(forMs);
  }

  /** Lose the next reply from the broker (with `match`, the next one whose bytes contain it) and close its connection. */
  loseNextReply(match?: string): void {
    this.#loseReply = { match };
  }

  /** A broker outage of `ms`: cut everything, refuse new connections, then {@link restore}. */
  outage(ms: number): Promise<void> {
    return this.refuse(ms);
  }

  /** Listen and forward again: end a refusal or a stall. Resolves once connections are accepted. */
  async restore(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    if (this.#stalled) {
      this.#stalled = false;
      for (const pair of this.#pairs) {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
    if (this.#refusing) {
      this.#refusing = false;
      await this.#listen(this.#port);
    }
  }

  /** Cut everything and stop listening for good. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.cut();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #restoreAfter(forMs: number | undefined): void {
    if (forMs === undefined) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.restore(), forMs);
  }

  async #listen(port: number): Promise<void> {
    const server = createServer((client) => this.#bridge(client));
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        // The old listener's port may linger a moment after close.
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening on TCP');
    this.#port = address.port;
    this.#server = server;
  }

  /** Copy bytes `from` → `to` with backpressure; not `pipe`, whose drain handling would undo a stall's pause. */
  #forward(from: Socket, to: Socket, fromBroker: boolean): void {
    from.on('data', (chunk: Buffer) => {
      const lose = this.#loseReply;
      if (fromBroker && lose !== undefined && (lose.match === undefined || chunk.includes(lose.match))) {
        this.#loseReply = undefined;
        this.repliesLost++;
        from.destroy();
        to.destroy();
        return;
      }
      if (to.write(chunk)) return;
      from.pause();
      to.once('drain', () => {
        if (!this.#stalled) from.resume();
      });
    });
  }

  #bridge(client: Socket): void {
    if (this.#closed || this.#refusing) {
      client.destroy();
      return;
    }
    this.connections++;
    const upstream = createConnection(this.target);
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    this.#forward(client, upstream, false);
    this.#forward(upstream, client, true);
    if (this.#stalled) {
      client.pause();
      upstream.pause();
    }
  }
}
