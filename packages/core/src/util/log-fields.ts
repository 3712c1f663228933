import type { MessageHeaders } from '../message/envelope.js';
import { traceIdOf } from '../telemetry/trace-context.js';
import type { Logger } from './logger.js';

/** The fields every framework log line about one message carries. */
export interface MessageLogFields {
  readonly service: string;
  readonly messageId: string;
  readonly type: string;
  readonly correlationId: string;
  readonly traceId?: string;
}

/** Log fields of a message handled or sent by `service`: service, message id, type, correlation id, trace id. */
export function messageLogFields(
  service: string,
  headers: Pick<MessageHeaders, 'id' | 'name' | 'correlationId' | 'traceparent'>,
): MessageLogFields {
  const traceId = traceIdOf(headers.traceparent);
  return {
    service,
    messageId: headers.id,
    type: headers.name,
    correlationId: headers.correlationId,
    ...(traceId ? { traceId } : {}),
  };
}

/** The same fields read from raw transport headers (a delivery that may not decode). */
export function rawLogFields(service: string, id: string, headers: Readonly<Record<string, string>>): MessageLogFields {
  const traceId = traceIdOf(headers['ce-traceparent']);
  return {
    service,
    messageId: id,
    type: headers['ce-type'] ?? '',
    correlationId: headers['ce-correlationid'] ?? '',
    ...(traceId ? { traceId } : {}),
  };
}

/** `logger` with `fields` added to every line (for parts that log without a message at hand, e.g. the outbox relay). */
export function withLogFields(logger: Logger, fields: object): Logger {
  return {
    debug: (object, message) => logger.debug({ ...fields, ...object }, message),
    info: (object, message) => logger.info({ ...fields, ...object }, message),
    warn: (object, message) => logger.warn({ ...fields, ...object }, message),
    error: (object, message) => logger.error({ ...fields, ...object }, message),
  };
}
