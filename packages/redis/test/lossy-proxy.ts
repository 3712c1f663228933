import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to Redis on 127.0.0.1 that can lose one reply: once armed, the
 * next bytes the server sends back are discarded and both sides of that
 * connection are closed. The command was executed but the client never hears
 * so, which is exactly when ioredis re-sends it after reconnecting.
 */
export class LossyProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #armed = false;
  #match: string | undefined;
  /** Replies dropped so far. */
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

  /** The URL a client uses to go through the proxy. */
  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `redis://127.0.0.1:${address.port}`;
  }

  /** Lose the next reply, or with `match`, the next reply whose bytes contain it. */
  arm(match?: string): void {
    this.#armed = true;
    this.#match = match;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #bridge(client: Socket, target: { host: string; port: number }): void {
    const server = createConnection(target);
    for (const socket of [client, server]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.on('data', (chunk) => server.write(chunk));
    server.on('data', (chunk) => {
      if (this.#armed && (this.#match === undefined || chunk.includes(this.#match))) {
        this.#armed = false;
        this.dropped++;
        client.destroy();
        server.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  }
}
