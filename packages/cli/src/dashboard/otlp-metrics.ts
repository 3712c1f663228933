/**
 * Reading an OTLP `ExportMetricsServiceRequest` in its JSON form (the body
 * `@opentelemetry/exporter-metrics-otlp-http` sends; a protobuf one is decoded to the same form) down to the few points the flow chart needs: the framework's counters of
 * handled messages, delayed retries and dead letters, each with its service and series identity.
 * Everything else in the request is skipped unread; what is read is type-checked, and a body that
 * does not have the OTLP shape throws an {@link OtlpShapeError} saying where.
 */

/** What a point counts: messages handled, delayed retries scheduled, or dead letters stored. */
export type FlowKind = 'handled' | 'retried' | 'deadLettered';

/** The flow kinds, in the order the API and the chart list them. */
export const FLOW_KINDS: readonly FlowKind[] = ['handled', 'retried', 'deadLettered'];

/** One data point of a monotonic sum the flow counts. */
export interface FlowPoint {
  readonly service: string;
  readonly kind: FlowKind;
  /** Identity of the time series: resource, metric name and point attributes. */
  readonly series: string;
  /** `startTimeUnixNano` as sent (a decimal string of nanoseconds). */
  readonly start: string;
  readonly value: number;
  /** True for cumulative temporality (a running total since `start`), false for delta. */
  readonly cumulative: boolean;
}

/** A request body that is JSON but not an OTLP metrics request; the message names the field. */
export class OtlpShapeError extends Error {}

/** OTLP `AggregationTemporality` values (metrics.proto). */
const DELTA = 1;
const CUMULATIVE = 2;

/**
 * The documented instruments (docs/observability.md) the flow counts. Consumed messages count
 * only with `switchyard.outcome` = `handled`; retries are the delayed retries scheduled.
 */
const KINDS: Readonly<Record<string, (attributes: ReadonlyMap<string, unknown>) => FlowKind | undefined>> = {
  'messaging.client.consumed.messages': (a) => (a.get('switchyard.outcome') === 'handled' ? 'handled' : undefined),
  'switchyard.retries': () => 'retried',
  'switchyard.dead_letters': () => 'deadLettered',
};

/** The attribute naming the consuming service on each of those instruments; else the resource's `service.name`. */
const SERVICE_ATTRIBUTE = 'messaging.consumer.group.name';

/**
 * The flow points of a metrics request in its OTLP/JSON form. Unknown metrics, non-monotonic sums and
 * points without a service are skipped. Throws {@link OtlpShapeError} when a field read has the wrong type.
 */
export function flowPointsOf(body: unknown): FlowPoint[] {
  const points: FlowPoint[] = [];
  const request = object(body, 'the body');
  for (const [r, resourceMetrics] of list(request.resourceMetrics, 'resourceMetrics').entries()) {
    const at = `resourceMetrics[${r}]`;
    const rm = object(resourceMetrics, at);
    const resource = rm.resource === undefined ? {} : object(rm.resource, `${at}.resource`);
    const resourceAttributes = attributesOf(resource.attributes, `${at}.resource.attributes`);
    const resourceKey = canonical(resourceAttributes);
    for (const [s, scopeMetrics] of list(rm.scopeMetrics, `${at}.scopeMetrics`).entries()) {
      const sAt = `${at}.scopeMetrics[${s}]`;
      for (const [m, metric] of list(object(scopeMetrics, sAt).metrics, `${sAt}.metrics`).entries()) {
        const mAt = `${sAt}.metrics[${m}]`;
        const { name, sum } = object(metric, mAt);
        const kindOf = typeof name === 'string' ? KINDS[name] : undefined;
        if (kindOf === undefined || sum === undefined) continue;
        const sumAt = `${mAt}.sum`;
        const { aggregationTemporality, isMonotonic, dataPoints } = object(sum, sumAt);
        if (isMonotonic !== true) continue;
        if (aggregationTemporality !== DELTA && aggregationTemporality !== CUMULATIVE)
          throw new OtlpShapeError(`${sumAt}.aggregationTemporality must be 1 (delta) or 2 (cumulative)`);
        for (const [p, dataPoint] of list(dataPoints, `${sumAt}.dataPoints`).entries()) {
          const pAt = `${sumAt}.dataPoints[${p}]`;
          const point = object(dataPoint, pAt);
          const attributes = attributesOf(point.attributes, `${pAt}.attributes`);
          const start = nanos(point.startTimeUnixNano, `${pAt}.startTimeUnixNano`);
          const value = pointValue(point, pAt);
          const kind = kindOf(attributes);
          const service = attributes.get(SERVICE_ATTRIBUTE) ?? resourceAttributes.get('service.name');
          if (kind === undefined || typeof service !== 'string' || service === '') continue;
          const series = `${resourceKey}|${name}|${canonical(attributes)}`;
          points.push({ service, kind, series, start, value, cumulative: aggregationTemporality === CUMULATIVE });
        }
      }
    }
  }
  return points;
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OtlpShapeError(`${at} must be an object`);
  return value as Record<string, unknown>;
}

/** A repeated field: absent is empty (proto3 JSON omits empty lists). */
function list(value: unknown, at: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpShapeError(`${at} must be an array`);
  return value;
}

/** `KeyValue` list to a map of plain values (`stringValue`, `intValue`, …; nested ones as JSON). */
function attributesOf(value: unknown, at: string): Map<string, unknown> {
  const attributes = new Map<string, unknown>();
  for (const [i, entry] of list(value, at).entries()) {
    const { key, value: any } = object(entry, `${at}[${i}]`);
    if (typeof key !== 'string') throw new OtlpShapeError(`${at}[${i}].key must be a string`);
    const wrapped = any === undefined ? {} : object(any, `${at}[${i}].value`);
    const [first] = Object.values(wrapped);
    attributes.set(key, typeof first === 'object' && first !== null ? JSON.stringify(first) : first);
  }
  return attributes;
}

function canonical(attributes: ReadonlyMap<string, unknown>): string {
  return JSON.stringify([...attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A fixed64 time: proto3 JSON sends it as a decimal string, some encoders as a number. */
function nanos(value: unknown, at: string): string {
  if (value === undefined) return '0';
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return value.replace(/^0+(?=\d)/, '');
  throw new OtlpShapeError(`${at} must be nanoseconds as a decimal string`);
}

/** `asDouble` (a number) or `asInt` (an int64: a decimal string or a number); absent is 0. */
function pointValue(point: Record<string, unknown>, at: string): number {
  const { asDouble, asInt } = point;
  const value = asDouble ?? (typeof asInt === 'string' && /^-?\d+$/.test(asInt) ? Number(asInt) : asInt) ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new OtlpShapeError(`${at} needs a finite, non-negative asDouble or asInt`);
  return value;
}
