import type { JsonSchema } from './json-schema.js';

/**
 * The CloudEvents attributes every Switchyard message carries, as the JSON
 * Schema of its headers (binary content mode, docs/wire-format.md). On SQS
 * (structured mode) the same attributes travel inside the JSON envelope.
 */
export const CLOUD_EVENTS_HEADERS: JsonSchema = {
  type: 'object',
  description:
    'CloudEvents 1.0 attributes in binary content mode (ce-* headers); in structured mode (SQS) the same attributes are fields of the JSON envelope. See docs/wire-format.md.',
  properties: {
    'ce-specversion': { type: 'string', const: '1.0' },
    'ce-id': { type: 'string', description: 'UUIDv7, the same across retries and replays (deduplication key)' },
    'ce-type': { type: 'string', description: 'message name and routing key' },
    'ce-source': { type: 'string', description: 'name of the sending service' },
    'ce-time': { type: 'string', format: 'date-time' },
    'content-type': { type: 'string', const: 'application/json' },
    'ce-kind': { type: 'string', enum: ['command', 'event', 'query', 'reply', 'message'] },
    'ce-correlationid': { type: 'string', description: 'shared by every message of one flow' },
    'ce-causationid': { type: 'string', description: 'id of the message being handled when this one was sent' },
    'ce-targetservice': { type: 'string', description: 'addressee of a command, query or plain message' },
    'ce-channel': { type: 'string', description: 'named channel of a plain message' },
    'ce-replyto': { type: 'string' },
    'ce-attempt': { type: 'string', pattern: '^[1-9][0-9]*$', description: '1, then +1 per delayed retry' },
    'ce-traceparent': { type: 'string', description: 'W3C trace context' },
    'ce-tracestate': { type: 'string' },
    'ce-targethandler': { type: 'string', description: 'on retries and replays: the only handler that runs' },
    'ce-deliverat': { type: 'string', format: 'date-time' },
    'ce-partitionkey': { type: 'string', description: 'ordering key' },
    'ce-dataschema': { type: 'string', description: 'urn:switchyard:<type>:v<version> for versioned contracts' },
  },
  required: ['ce-specversion', 'ce-id', 'ce-type', 'ce-source', 'ce-time', 'ce-kind', 'ce-correlationid', 'ce-attempt'],
};
