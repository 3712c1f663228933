import { runReplyChannelSuite } from '@switchyard/testing';
import { RabbitMqTransport } from '../src/index.js';
import { probeRabbit, queueExists, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

runReplyChannelSuite({
  name: RABBIT_NAME,
  probe: probeRabbit,
  createTransport: () =>
    new RabbitMqTransport({ url: RABBIT_URL, exchange: 'sy-test-replies', connectionName: unique('sy-test') }),
  exists: queueExists,
  // x-expires: RabbitMQ deletes a queue unused for that long; its expiry sweep is not to the millisecond.
  expiry: { expireAfterMs: 300, waitMs: 10_000 },
});
