import { channelStatsScenario } from '@switchyard/testing';
import { describe, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka channel stats', () => {
  it('reports the consumer group lag of a channel, summed over partitions', async () => {
    await channelStatsScenario(kafka.transport(), unique('stats'));
  });
});
