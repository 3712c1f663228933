import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { BodyTooLargeError, readBody } from './body.js';
import { flowPointsOf, OtlpShapeError } from './otlp-metrics.js';
import { decodeMetricsRequest } from './otlp-proto.js';
import type { FlowRates } from './rates.js';

/** Largest OTLP request body read, compressed or not, in bytes (4 MiB); a larger one is refused with 413. */
export const MAX_OTLP_BYTES = 4 * 1024 * 1024;

/** The path OTLP/HTTP exporters post metrics to. */
export const OTLP_METRICS_PATH = '/v1/metrics';

const unzip = promisify(gunzip);

/** gRPC status codes that OTLP/HTTP carries in its `Status` error bodies. */
const INVALID_ARGUMENT = 3;
const UNAUTHENTICATED = 16;

/** An OTLP request refused: the HTTP status and the OTLP `Status` body (`{ code, message }`). */
export class OtlpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }

  /** The body to send: a google.rpc.Status as OTLP/HTTP specifies for errors. */
  get body(): { code: number; message: string } {
    return { code: this.status === 401 ? UNAUTHENTICATED : INVALID_ARGUMENT, message: this.message };
  }
}

/** The 401 answer to an OTLP request without the dashboard's token. */
export function otlpUnauthorized(): OtlpError {
  return new OtlpError(
    401,
    'send the dashboard token: the exporter option headers: { Authorization: "Bearer <token>" }',
  );
}

/**
 * Take one OTLP/HTTP metrics export (`POST /v1/metrics`, the caller checked the token): the
 * OTLP/JSON encoding that `@opentelemetry/exporter-metrics-otlp-http` sends, or the protobuf one of
 * `@opentelemetry/exporter-metrics-otlp-proto`, gzip or not. Counts the framework's handled/retried/dead-letter counters into `rates` and answers an
 * `ExportMetricsServiceResponse` (`{}`, or `partialSuccess` with the points refused).
 * Throws an {@link OtlpError}, with nothing counted, for another method (405), a protobuf or other
 * content type than those two (415), a body over {@link MAX_OTLP_BYTES} before or after gunzip (413), and a body
 * that does not decode or is not a metrics request (400).
 */
export async function receiveMetrics(request: IncomingMessage, rates: FlowRates): Promise<unknown> {
  if (request.method !== 'POST') {
    request.resume();
    throw new OtlpError(405, `use POST ${OTLP_METRICS_PATH}`);
  }
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/x-protobuf') {
    request.resume();
    throw new OtlpError(
      415,
      `content-type ${type || '(none)'} is not read: send OTLP/JSON (application/json) or OTLP/protobuf (application/x-protobuf)`,
    );
  }
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    request.resume();
    throw new OtlpError(415, `content-encoding ${encoding} is not read: use gzip or none`);
  }
  let body: Buffer;
  try {
    body = await readBody(request, MAX_OTLP_BYTES);
  } catch (error) {
    throw error instanceof BodyTooLargeError ? tooLarge() : error;
  }
  if (encoding === 'gzip') {
    try {
      body = await unzip(body, { maxOutputLength: MAX_OTLP_BYTES });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new OtlpError(400, 'the body is not valid gzip');
    }
  }
  let parsed: unknown;
  try {
    parsed = type === 'application/json' ? JSON.parse(body.toString('utf8')) : decodeMetricsRequest(body);
  } catch {
    throw new OtlpError(
      400,
      type === 'application/json'
        ? 'the body is not JSON: send an OTLP/JSON ExportMetricsServiceRequest'
        : 'the body is not a protobuf ExportMetricsServiceRequest',
    );
  }
  let points: ReturnType<typeof flowPointsOf>;
  try {
    points = flowPointsOf(parsed);
  } catch (error) {
    if (error instanceof OtlpShapeError) throw new OtlpError(400, `not an OTLP metrics request: ${error.message}`);
    throw error;
  }
  const rejected = rates.add(points);
  return rejected === 0
    ? {}
    : {
        partialSuccess: { rejectedDataPoints: rejected, errorMessage: 'too many time series: these were not counted' },
      };
}

function tooLarge(): OtlpError {
  return new OtlpError(413, `request body over ${MAX_OTLP_BYTES} bytes`);
}
