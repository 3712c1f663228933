import { createHash } from 'node:crypto';

/**
 * Physical names on SQS and SNS. SQS queue names allow 1-80 characters of
 * `[A-Za-z0-9_-]` (a FIFO queue's name ends in `.fifo`, counted in the 80);
 * SNS topic names allow 1-256 of the same set. Channel names are free text
 * (`order.placed`, `svc/billing`), so they are sanitized; whenever
 * sanitizing or truncation changed the name, a short hash of the original
 * is appended so that two different channels never share one queue.
 */

const INVALID = /[^A-Za-z0-9_-]/g;
const FIFO_SUFFIX = '.fifo';
const QUEUE_MAX = 80;
const TOPIC_MAX = 256;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function physicalName(raw: string, max: number, fifo: boolean): string {
  const room = max - (fifo ? FIFO_SUFFIX.length : 0);
  let name = raw.replace(INVALID, '-');
  if (name !== raw || name.length > room || name.length === 0) {
    const hash = shortHash(raw);
    name = `${name.slice(0, room - hash.length - 1)}-${hash}`;
  }
  return fifo ? `${name}${FIFO_SUFFIX}` : name;
}

/** The SQS queue name of `channel` under `prefix`. Pure and stable: the same input always gives the same name. */
export function queueName(prefix: string, channel: string, fifo: boolean): string {
  return physicalName(`${prefix}${channel}`, QUEUE_MAX, fifo);
}

/** The SNS topic name for `name`; FIFO topics get the `.fifo` suffix. Pure and stable. */
export function topicName(name: string, fifo: boolean): string {
  const base = name.endsWith(FIFO_SUFFIX) ? name.slice(0, -FIFO_SUFFIX.length) : name;
  return physicalName(base, TOPIC_MAX, fifo);
}
