import { brokerReachable } from '@switchyard/testing';
import { afterAll, describe, it } from 'vitest';
import { discardScenario, stopScenario } from '../../core/test/final-failure-scenario.js';
import { threeServiceTrace } from '../../core/test/telemetry-scenario.js';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

/** Tracing, metrics and final-failure strategies on RabbitMQ: the scenarios core runs in memory. */
describe.runIf(reachable)('telemetry and final failure on RabbitMQ', () => {
  const exchange = unique('sy-test-otel');
  const queues: string[] = [];
  const transport = () => ({ transport: new RabbitMqTransport({ url: RABBIT_URL, exchange }) });
  afterAll(() => deleteObjects(queues, [exchange]));

  it('one trace from the first send to the last handler across three services', async () => {
    const prefix = unique('otel');
    queues.push(`${prefix}-order`, `${prefix}-inventory`, `${prefix}-notification`);
    await threeServiceTrace({ prefix, transport });
  });

  it('final failure discard: acked and counted, not dead-lettered', async () => {
    const name = unique('ff-discard');
    queues.push(name);
    await discardScenario(name, transport);
  });

  it('final failure stop: consuming stops, the messages stay on the broker for the next instance', async () => {
    const name = unique('ff-stop');
    queues.push(name);
    await stopScenario(name, transport);
  });
});
