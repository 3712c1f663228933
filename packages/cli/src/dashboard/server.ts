import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError } from '@switchyard/core';
import type { CliConfig } from '../config.js';
import { ApiError, type DashboardState, handleApi } from './api.js';
import { BodyTooLargeError, readBody } from './body.js';
import { ChannelMonitor } from './channels.js';
import { messagesOf } from './messages.js';
import { OTLP_METRICS_PATH, OtlpError, otlpUnauthorized, receiveMetrics } from './otlp-receiver.js';
import { FlowRates } from './rates.js';
import { DeadLetterSources } from './sources.js';

/** Largest request body the API reads; a larger one is refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Where and how to serve the dashboard. */
export interface DashboardOptions {
  /** Port (0 = any free one). Default 7077. */
  readonly port?: number;
  /** Address to bind. Default 127.0.0.1; any other than loopback needs `token`. */
  readonly host?: string;
  /** The access token; default a random one (32 bytes, base64url). */
  readonly token?: string;
  /** How often the channel counts are sampled for the flow chart, in ms. Default 5000. */
  readonly sampleMs?: number;
  /** Folder that a relative `--app` module path would be resolved from. Default the working directory. */
  readonly cwd?: string;
}

/** A running dashboard; `close` stops the server and the sampling, and closes every store and transport (idempotent). */
export interface Dashboard {
  /** The base URL, e.g. `http://127.0.0.1:7077/`. */
  readonly url: string;
  /** The URL to open in a browser: the base URL with the token in its fragment (never sent to the server). */
  readonly openUrl: string;
  readonly token: string;
  readonly sources: DeadLetterSources;
  close(): Promise<void>;
}

const ASSETS: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/dom.js': 'dom.js',
  '/topology.js': 'topology.js',
  '/flow.js': 'flow.js',
  '/style.css': 'style.css',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Start the dashboard: the static page (packages/cli/assets/dashboard, no data in it) and
 * the JSON API under `/api`, which answers 401 to any request without `Authorization: Bearer <token>`.
 * No cookies are used, so a foreign page cannot make a state-changing request (no CSRF).
 * Once listening it samples the channel counts every `sampleMs` (read-only) for the flow chart,
 * and imports the config's application module once (for who sends what). It also takes the
 * services' OpenTelemetry metrics at `POST /v1/metrics` (OTLP/HTTP, JSON or protobuf; same token, 401
 * without it) and keeps their handled, retried and dead-lettered counts for the flow chart.
 * Throws a ConfigurationError for a non-loopback `host` without `token`; rejects when the port is taken.
 */
export async function startDashboard(config: CliConfig, options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && options.token === undefined) {
    throw new ConfigurationError(
      `--host ${host} makes the dashboard reachable from other machines: pass --token <secret> as well`,
    );
  }
  if (options.token !== undefined && options.token.length < 16)
    throw new ConfigurationError('--token must be at least 16 characters');
  const token = options.token ?? randomBytes(32).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const assets = new Map<string, Buffer>();
  for (const file of new Set(Object.values(ASSETS)))
    assets.set(file, readFileSync(new URL(`../../assets/dashboard/${file}`, import.meta.url)));
  const sources = await DeadLetterSources.open(config);
  const monitor = new ChannelMonitor(config, sources.serviceMap);
  const rates = new FlowRates();
  const state: DashboardState = {
    config,
    sources,
    monitor,
    rates,
    messages: messagesOf(config, options.cwd ?? process.cwd()),
  };

  const server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: { code: 'ERROR', message: String(error) } });
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    const method = request.method ?? 'GET';
    const asset = ASSETS[url.pathname];
    if (asset !== undefined && (method === 'GET' || method === 'HEAD')) {
      const type = TYPES[asset.split('.').pop() ?? ''] ?? 'application/octet-stream';
      response.writeHead(200, { 'content-type': type, ...SECURITY_HEADERS, 'cache-control': 'no-store' });
      response.end(method === 'HEAD' ? undefined : assets.get(asset));
      return;
    }
    if (url.pathname === OTLP_METRICS_PATH) return otlp(request, response);
    if (!url.pathname.startsWith('/api/'))
      return send(response, 404, { error: { code: 'SY_NOT_FOUND', message: 'not found' } });
    if (!authorized(request)) {
      request.resume();
      return send(response, 401, {
        error: { code: 'SY_UNAUTHORIZED', message: 'send the token printed at start: Authorization: Bearer <token>' },
      });
    }
    try {
      if (Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES) await readJson(request);
      const result = await handleApi(state, method, url, () => readJson(request));
      send(response, result.status, result.body);
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 413) response.setHeader('connection', 'close');
        return send(response, error.status, { error: { code: error.code, message: error.message } });
      }
      const code = (error as { code?: unknown }).code;
      send(response, 500, {
        error: { code: typeof code === 'string' ? code : 'ERROR', message: (error as Error).message ?? String(error) },
      });
    }
  }

  function authorized(request: IncomingMessage): boolean {
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** `POST /v1/metrics`: OTLP/HTTP metrics from the services, with the same token. */
  async function otlp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (!authorized(request)) {
        request.resume();
        throw otlpUnauthorized();
      }
      send(response, 200, await receiveMetrics(request, rates));
    } catch (error) {
      if (!(error instanceof OtlpError)) throw error;
      if (error.status === 413) response.setHeader('connection', 'close');
      send(response, error.status, error.body);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7077, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await sources.close();
    throw error;
  });
  monitor.start(options.sampleMs ?? 5_000);
  const { port } = server.address() as AddressInfo;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  let closed: Promise<void> | undefined;
  return {
    url: base,
    openUrl: `${base}#token=${token}`,
    token,
    sources,
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await monitor.stop();
        await sources.close();
      })();
      return closed;
    },
  };
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  response.end(JSON.stringify(body));
}

/** The request body as JSON: 413 past {@link MAX_BODY_BYTES}, 400 when it is not JSON; an empty body is `{}`. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readBody(request, MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new ApiError(413, 'SY_TOO_LARGE', error.message);
    throw error;
  }
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'SY_BAD_REQUEST', 'request body is not valid JSON');
  }
}
