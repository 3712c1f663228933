import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runReplyChannelSuite } from '@switchyard/testing';
import { RabbitMqTransport } from '../src/index.js';
import { probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

/**
 * Whether queue `name` exists, from `rabbitmqctl list_queues`: a passive declare
 * (checkQueue) would count as use and restart the queue's `x-expires` clock.
 */
async function queueExists(name: string): Promise<boolean> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['list_queues', 'name', '--quiet', '--no-table-headers']);
  return stdout.split('\n').some((line) => line.trim() === name);
}

runReplyChannelSuite({
  name: RABBIT_NAME,
  probe: probeRabbit,
  createTransport: () =>
    new RabbitMqTransport({ url: RABBIT_URL, exchange: 'sy-test-replies', connectionName: unique('sy-test') }),
  exists: queueExists,
  // x-expires: RabbitMQ deletes a queue unused for that long; its expiry sweep is not to the millisecond.
  expiry: { expireAfterMs: 300, waitMs: 10_000 },
});
