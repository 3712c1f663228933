import { GetQueueUrlCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, collect, testEvent, testMessage } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { queueName, SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

/**
 * SendMessageBatch and PublishBatch answer 200 with some entries under
 * `Failed`. On the emulator a per-entry failure is forced with an entry over
 * the queue's MaximumMessageSize (SQS) or over 256 KiB (SNS): the other
 * entries of the same batch are stored, the refused one must make the send reject.
 */
describe.runIf(reachable)('sqs: per-entry batch failures', () => {
  const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  afterAll(() => sqs.destroy());

  it('a send with one refused entry rejects with SY_SEND_FAILED naming it; the others are delivered', async () => {
    const transport = new SqsTransport(emulatorConfig(emulator));
    try {
      const channel = `batch-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName('', channel, false) }));
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { MaximumMessageSize: '1024' } }));

      const small = [testMessage({ seq: 0 }), testMessage({ seq: 2 })];
      const big = testMessage({ payload: { text: 'x'.repeat(2_000) } });
      const error = await transport.send(channel, [small[0]!, big, small[1]!]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.SendFailed });
      expect((error as Error).message).toContain(big.id);
      expect((error as Error).message).toMatch(/1 of 3 message\(s\) not accepted/);
      expect((error as Error).message).not.toContain(small[0]!.id);

      const inbox = await collect(transport, channel);
      await inbox.waitForIds(small.map((m) => m.id));
      expect(inbox.countOf(big.id)).toBe(0);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });

  it('a publish with an entry over the SNS limit rejects naming it; the others fan out', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), topicName: `batch-${suffix()}` });
    try {
      const channel = `pub-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: ['big.#'] }] });
      const ok = testEvent('big.ok');
      const huge = testEvent('big.huge', { payload: { text: 'x'.repeat(270 * 1024) } });
      const error = await transport.publish([ok, huge]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.SendFailed });
      expect((error as Error).message).toContain(huge.id);
      const inbox = await collect(transport, channel);
      await inbox.waitForIds([ok.id]);
      expect(inbox.countOf(huge.id)).toBe(0);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });

  it('a send to an unreachable endpoint rejects with SY_SEND_FAILED, never resolves', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), endpoint: 'http://127.0.0.1:9' });
    await expect(transport.send(`nowhere-${suffix()}`, [testMessage()])).rejects.toMatchObject({
      code: ErrorCode.SendFailed,
    });
    await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    await transport.close();
  });
});
