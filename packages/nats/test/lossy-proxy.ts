import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of NATS that can lose one reply: once armed, the next
 * server-to-client chunk containing `match` is discarded and both sides of
 * that connection are closed. The server did the work (stored a message) but
 * the client never hears so: exactly when the transport re-publishes.
 */
export class LossyProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #match: string | undefined;
  /** Replies lost so far. */
  dropped = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: { host: string; port: number }): Promise<LossyProxy> {
    const server = createServer();
    const proxy = new LossyProxy(server);
    server.on('connection', (client) => proxy.#bridge(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `nats://127.0.0.1:${address.port}`;
  }

  /** Lose the next server-to-client chunk that contains `match`. */
  arm(match: string): void {
    this.#match = match;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #bridge(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (this.#match !== undefined && chunk.includes(this.#match)) {
        this.#match = undefined;
        this.dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
