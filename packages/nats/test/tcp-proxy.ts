import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a NATS server, controlled by the test:
 * `drop()` cuts every connection through it at once (the client sees the
 * server vanish and reconnects through the proxy again). The shared server is
 * never touched, and other suites' connections are not affected.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Connections cut so far. */
  dropped = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => proxy.#bridge(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `nats://127.0.0.1:<port>` of the proxy. */
  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `nats://127.0.0.1:${address.port}`;
  }

  /** Cut every open connection; resolves with how many client connections were cut. */
  async drop(): Promise<number> {
    let clients = 0;
    for (const socket of this.#sockets) {
      if ((socket as Socket & { proxySide?: string }).proxySide === 'client') clients++;
      socket.destroy();
    }
    this.dropped += clients;
    return clients;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #bridge(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    (client as Socket & { proxySide?: string }).proxySide = 'client';
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
