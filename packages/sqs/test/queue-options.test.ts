import { ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, collect, testMessage } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

describe.runIf(reachable)('sqs: queue options', () => {
  it('redrive: after maxReceiveCount receives SQS moves the message to the channel dead-letter queue', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), redrive: { maxReceiveCount: 2 } });
    try {
      const channel = `redrive-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const counts: number[] = [];
      const inbox = await collect(transport, channel, {
        settle: async (delivery) => {
          counts.push(delivery.deliveryCount);
          await delivery.nack();
        },
      });
      const message = testMessage();
      await transport.send(channel, [message]);
      const dead = await collect(transport, `${channel}-dlq`);
      await dead.waitForIds([message.id]);
      expect(counts).toEqual([1, 2]);
      expect(inbox.countOf(message.id)).toBe(2);
      await Promise.all([inbox.close(), dead.close()]);
    } finally {
      await transport.close();
    }
  });

  it('createQueuesOnDemand: false makes a send to an unprovisioned channel reject instead of creating it', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), createQueuesOnDemand: false });
    try {
      await expect(transport.send(`missing-${suffix()}`, [testMessage()])).rejects.toMatchObject({
        code: ErrorCode.Configuration,
      });
    } finally {
      await transport.close();
    }
  });

  it('a consume that resolves after close attaches nothing; later calls reject with SY_CLOSED', async () => {
    const transport = new SqsTransport(emulatorConfig(emulator));
    const consuming = transport.consume(`late-${suffix()}`, async () => undefined);
    await transport.close();
    await expect(consuming).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(transport.send('x', [testMessage()])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(transport.close()).resolves.toBeUndefined();
  });
});
