import { type DeadLetterFilter, SwitchyardError } from '@switchyard/core';
import { topologyOf } from '../commands/topology.js';
import type { CliConfig } from '../config.js';
import { toJson } from '../format.js';
import { parseTime } from '../time.js';
import type { ChannelMonitor } from './channels.js';
import { flowOf, MAX_FLOW_MINUTES } from './flow.js';
import type { MessagesView } from './messages.js';
import type { FlowRates } from './rates.js';
import type { DeadLetterSources } from './sources.js';

/** What the API reads: the config, the stores, the channel monitor and who sends what. */
export interface DashboardState {
  readonly config: CliConfig;
  readonly sources: DeadLetterSources;
  readonly monitor: ChannelMonitor;
  /** The handled, retried and dead-lettered counts received over OTLP. */
  readonly rates: FlowRates;
  /** Loaded once at start (the application module is imported once). */
  readonly messages: Promise<MessagesView>;
}

/** An API answer: HTTP status and a JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A request the API refuses: status 400, 404, 405 or 413 with `{ error: { code, message } }`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Largest page the list endpoint returns. */
export const MAX_LIMIT = 500;

const FILTERS = new Set(['service', 'type', 'handler', 'code', 'search', 'since', 'until', 'offset', 'limit']);

/**
 * The dashboard's JSON API (paths under `/api`; the caller checked the token):
 * - `GET /api/dead-letters?service&type&handler&code&search&since&until&offset&limit` → `{ total, offset, limit, items, counts }`
 * - `GET /api/dead-letters/:id` → the record (with stack); `DELETE` it → the deleted record
 * - `POST /api/dead-letters/:id/replay` → the replayed record
 * - `POST /api/dead-letters/replay` with body `{ "filter": { …same keys as the list… } }` → `{ count }`
 * - `GET /api/topology` → the resolved service map, the stores read, and who handles, sends and publishes what (`messages`)
 * - `GET /api/channels` → depth, in-flight and consumers of every service's channel, read now
 * - `GET /api/flow?minutes=15` → per service: dead letters per minute, the channel samples, and the
 *   handled/retried/dead-lettered counts per minute received over OTLP (1–60 minutes)
 * Bad input answers 400 (unknown or malformed filter, bad JSON), unknown ids 404, other methods 405, before anything changes.
 */
export async function handleApi(
  state: DashboardState,
  method: string,
  url: URL,
  body: () => Promise<unknown>,
): Promise<ApiResponse> {
  let parts: string[];
  try {
    parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent).slice(1);
  } catch {
    throw bad(`malformed path ${url.pathname}: percent-encode ids`);
  }
  const [resource, id, action] = parts;
  const { config, sources, monitor } = state;
  if (parts.length === 1 && (resource === 'topology' || resource === 'channels' || resource === 'flow')) {
    allow(method, 'GET');
    const view = topologyOf(config);
    if (resource === 'topology') return ok({ ...view, stores: sources.statuses, messages: await state.messages });
    if (resource === 'channels') {
      onlyParams(url, []);
      return ok(await monitor.read());
    }
    onlyParams(url, ['minutes']);
    const given = url.searchParams.get('minutes') ?? '15';
    const minutes = Number(given);
    if (!/^\d+$/.test(given) || minutes < 1 || minutes > MAX_FLOW_MINUTES)
      throw bad(`minutes must be an integer from 1 to ${MAX_FLOW_MINUTES}, got '${given}'`);
    return ok(
      await flowOf(
        sources,
        monitor,
        state.rates,
        view.services.map((s) => s.name),
        minutes,
      ),
    );
  }
  if (resource !== 'dead-letters') throw new ApiError(404, 'SY_NOT_FOUND', `no API at ${url.pathname}`);
  if (parts.length === 1) {
    allow(method, 'GET');
    const query = Object.fromEntries(url.searchParams);
    if (url.searchParams.size !== Object.keys(query).length) throw bad('each filter may be given once');
    const filter = parseFilter(query);
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 50;
    const page = await sources.page(filter, offset, limit);
    return ok({ ...page, offset, limit, items: page.items.map((r) => toJson(r, false)) });
  }
  if (id === 'replay' && parts.length === 2) {
    allow(method, 'POST');
    const raw = await body();
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('body must be { "filter": { … } }');
    const { filter: given, ...rest } = raw as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw bad(`unknown body key '${Object.keys(rest)[0]}': use "filter"`);
    if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given)))
      throw bad('"filter" must be an object of strings');
    const filter = parseFilter((given ?? {}) as Record<string, unknown>);
    if (filter.offset !== undefined || filter.limit !== undefined) throw bad('replay takes no offset or limit');
    return ok({ count: await sources.replayAll(filter) });
  }
  if (id === undefined || parts.length > 3) throw new ApiError(404, 'SY_NOT_FOUND', `no API at ${url.pathname}`);
  if (action === 'replay') {
    allow(method, 'POST');
    return ok(toJson(await found(sources.replay(id)), false));
  }
  if (action !== undefined) throw new ApiError(404, 'SY_NOT_FOUND', `no API at ${url.pathname}`);
  if (method === 'DELETE') return ok(toJson(await found(sources.delete(id)), false));
  allow(method, 'GET');
  const record = await sources.get(id);
  if (!record) throw new ApiError(404, 'SY_NOT_FOUND', `no dead letter with id '${id}'`);
  return ok(toJson(record, true));
}

/** A filter from query or body fields; throws a 400 ApiError naming the bad field. */
export function parseFilter(fields: Record<string, unknown>): DeadLetterFilter {
  const filter: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!FILTERS.has(key)) throw bad(`unknown filter '${key}': use ${[...FILTERS].join(', ')}`);
    if (typeof value !== 'string') throw bad(`filter '${key}' must be a string`);
    if (value === '') continue;
    if (key === 'since' || key === 'until') {
      try {
        filter[key] = parseTime(key, value);
      } catch (error) {
        throw bad((error as Error).message);
      }
    } else if (key === 'offset' || key === 'limit') {
      const n = Number(value);
      const min = key === 'offset' ? 0 : 1;
      if (!/^\d+$/.test(value) || n < min || (key === 'limit' && n > MAX_LIMIT))
        throw bad(`${key} must be an integer ${key === 'offset' ? '≥ 0' : `from 1 to ${MAX_LIMIT}`}, got '${value}'`);
      filter[key] = n;
    } else filter[key === 'type' ? 'messageName' : key] = value;
  }
  return filter as DeadLetterFilter;
}

/** Refuse any query parameter but `allowed`, each at most once. */
function onlyParams(url: URL, allowed: readonly string[]): void {
  for (const key of new Set(url.searchParams.keys())) {
    if (!allowed.includes(key))
      throw bad(
        `unknown parameter '${key}'${allowed.length > 0 ? `: use ${allowed.join(', ')}` : ': this API takes none'}`,
      );
    if (url.searchParams.getAll(key).length > 1) throw bad(`'${key}' may be given once`);
  }
}

function ok(body: unknown): ApiResponse {
  return { status: 200, body };
}

function bad(message: string): ApiError {
  return new ApiError(400, 'SY_BAD_REQUEST', message);
}

function allow(method: string, expected: string): void {
  if (method !== expected) throw new ApiError(405, 'SY_METHOD_NOT_ALLOWED', `use ${expected} here, not ${method}`);
}

async function found<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof SwitchyardError && error.code === 'SY_NOT_FOUND')
      throw new ApiError(404, error.code, error.message);
    throw error;
  }
}
