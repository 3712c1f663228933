import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, describeError } from '../errors.js';
import type { ServiceHealth } from './health.js';

/** What the health endpoint needs of a service (a `Service` has it). */
export interface HealthSource {
  readonly name: string;
  health(): ServiceHealth;
  on(event: 'stopped', listener: (event: { readonly service: string }) => void): () => void;
}

/** Options of {@link serveHealth}. */
export interface HealthServerOptions {
  /** TCP port to listen on; 0 picks a free one (see {@link HealthServer.port}). */
  readonly port: number;
  /** Address to bind (default `127.0.0.1`: reachable from this host only; `0.0.0.0` for a pod's probes from outside). */
  readonly host?: string;
}

/** A running health endpoint. */
export interface HealthServer {
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** `http://<host>:<port>`. */
  readonly url: string;
  /** Resolves once the server closed: by {@link close}, or by itself after its services stopped. */
  readonly closed: Promise<void>;
  /** Stop listening and end open connections. Idempotent; resolves with {@link closed}. */
  close(): Promise<void>;
}

/**
 * A tiny HTTP endpoint (node:http, no framework) over `service.health()` of
 * one or more services, for Kubernetes probes:
 *
 * - `GET /health/ready`: 200 when every service is healthy (running,
 *   consuming, its transport not reporting a lost connection), else 503 — so
 *   also while a service starts or stops, while its broker is unreachable,
 *   and after a final failure under strategy `stop` ended its consumption;
 * - `GET /health/live`: 200 while the process answers (a broker outage or a
 *   stopped consumer is not cured by a restart, so liveness does not fail on
 *   it);
 * - both answer JSON `{ "status", "services": [{ "service", ...health() }] }`;
 *   HEAD works as GET without a body; other paths 404, other methods 405.
 *
 * Binds to 127.0.0.1 unless `host` says otherwise. Closes by itself once
 * every one of its services has stopped, or on {@link HealthServer.close}.
 * Rejects with a ConfigurationError for an invalid port or when it cannot
 * listen (port in use, unknown host), saying which address.
 */
export async function serveHealth(
  services: HealthSource | readonly HealthSource[],
  options: HealthServerOptions,
): Promise<HealthServer> {
  const list: readonly HealthSource[] = Array.isArray(services) ? services : [services as HealthSource];
  const { port } = options;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigurationError(`serveHealth: port must be an integer from 0 to 65535, got ${port}`);
  if (list.length === 0) throw new ConfigurationError('serveHealth: give at least one service');

  const server = createServer((request, response) => respond(list, request, response));
  // The services hold the process while they run; the endpoint alone must not.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new ConfigurationError(`serveHealth: cannot listen on ${host}:${port}: ${describeError(error)}`, {
          cause: error,
        }),
      ),
    );
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: () => void = () => undefined;
  const whenClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  let closing = false;
  const close = (): Promise<void> => {
    if (!closing) {
      closing = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
      server.close(() => closed());
      server.closeAllConnections();
    }
    return whenClosed;
  };
  const stopped = new Set<HealthSource>();
  const unsubscribes = list.map((service) =>
    service.on('stopped', () => {
      stopped.add(service);
      if (stopped.size === list.length) void close();
    }),
  );
  return { port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, closed: whenClosed, close };
}

function respond(services: readonly HealthSource[], request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/health/ready' && path !== '/health/live') {
    send(response, request, 404, { error: 'not found' });
  } else if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    send(response, request, 405, { error: 'method not allowed' });
  } else {
    const reports = services.map((service) => ({ service: service.name, ...service.health() }));
    const ready = path === '/health/live' || reports.every((report) => report.healthy);
    const status = path === '/health/live' ? 'live' : ready ? 'ready' : 'unready';
    send(response, request, ready ? 200 : 503, { status, services: reports });
  }
}

function send(response: ServerResponse, request: IncomingMessage, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : text);
}
