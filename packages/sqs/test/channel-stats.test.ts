import { brokerReachable, channelStatsScenario } from '@switchyard/testing';
import { afterAll, describe, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

describe.runIf(reachable)('sqs channel stats', () => {
  it('reports depth and in-flight of a channel from the queue attributes', async () => {
    const transport = new SqsTransport(emulatorConfig(emulator));
    try {
      await channelStatsScenario(transport, `stats-${suffix()}`);
    } finally {
      await transport.close();
    }
  });
});
