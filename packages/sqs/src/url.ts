import { ConfigurationError } from '@switchyard/core/transport';
import type { SqsTransportOptions } from './options.js';
import { SqsTransport } from './sqs-transport.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Options from an `sqs://` URL:
 *
 * - `sqs://` — real AWS; region, credentials and endpoint from the SDK chain.
 * - `sqs://127.0.0.1:4566?region=us-east-1` — endpoint `http://127.0.0.1:4566`
 *   (emulators, LocalStack). `sqss://host` uses `https://`.
 * - query parameters: `region`, `prefix` (queue name prefix), `topic`,
 *   `fanout` (`sns` | `direct`), `fifo` (`true`), `waitTimeSeconds`,
 *   `visibilityTimeoutSeconds`, `receivers`, `accessKeyId` + `secretAccessKey`.
 *
 * A loopback endpoint without credentials in the URL gets the static
 * credentials `test`/`test` unless `AWS_ACCESS_KEY_ID` is set: emulators
 * accept any, and a developer laptop often has none. Throws a
 * ConfigurationError for another scheme or a malformed value.
 */
export function optionsFromUrl(url: string): SqsTransportOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`'${url}' is not a valid sqs:// URL`, { cause: error });
  }
  if (parsed.protocol !== 'sqs:' && parsed.protocol !== 'sqss:') {
    throw new ConfigurationError(`'${url}' is not an sqs:// URL`);
  }
  const q = parsed.searchParams;
  const options: { -readonly [K in keyof SqsTransportOptions]: SqsTransportOptions[K] } = {};
  if (parsed.host !== '') {
    options.endpoint = `${parsed.protocol === 'sqss:' ? 'https' : 'http'}://${parsed.host}`;
  }
  const region = q.get('region');
  if (region) options.region = region;
  const prefix = q.get('prefix');
  if (prefix) options.queuePrefix = prefix;
  const topic = q.get('topic');
  if (topic) options.topicName = topic;
  const fanout = q.get('fanout');
  if (fanout) {
    if (fanout !== 'sns' && fanout !== 'direct')
      throw new ConfigurationError(`sqs URL: fanout must be 'sns' or 'direct', got '${fanout}'`);
    options.fanout = fanout;
  }
  if (q.get('fifo') === 'true') options.fifo = true;
  const wait = q.get('waitTimeSeconds');
  if (wait !== null) options.waitTimeSeconds = Number(wait);
  const receivers = q.get('receivers');
  if (receivers !== null) options.receivers = Number(receivers);
  const visibility = q.get('visibilityTimeoutSeconds');
  if (visibility !== null) options.visibilityTimeoutSeconds = Number(visibility);
  const accessKeyId = q.get('accessKeyId');
  const secretAccessKey = q.get('secretAccessKey');
  if (accessKeyId && secretAccessKey) options.credentials = { accessKeyId, secretAccessKey };
  else if (LOOPBACK.has(parsed.hostname) && process.env.AWS_ACCESS_KEY_ID === undefined) {
    options.credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  }
  return options;
}

/** A new {@link SqsTransport} for an `sqs://` URL (see {@link optionsFromUrl}); core calls it for `sqs://` transports. */
export function transportFromUrl(url: string): SqsTransport {
  return new SqsTransport(optionsFromUrl(url));
}
