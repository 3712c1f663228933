import { brokerReachable, testMessage } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

/**
 * fauxqs with a hook that watches ReceiveMessage calls while they are open on
 * the server: how many at once, and how many messages they asked for in all.
 */
async function watchedEmulator() {
  const open = new Map<unknown, number>();
  const seen = { maxCalls: 0, maxAsked: 0 };
  const isReceive = (target: unknown) => typeof target === 'string' && target.endsWith('.ReceiveMessage');
  const emulator = await startEmulator((app) => {
    app.addHook('preHandler', async (request) => {
      if (!isReceive(request.headers['x-amz-target'])) return;
      const body = request.body as { MaxNumberOfMessages?: number } | undefined;
      open.set(request, body?.MaxNumberOfMessages ?? 1);
      seen.maxCalls = Math.max(seen.maxCalls, open.size);
      seen.maxAsked = Math.max(
        seen.maxAsked,
        [...open.values()].reduce((sum, asked) => sum + asked, 0),
      );
    });
    // Before the reply is written: once it is, the client may already send its next call.
    app.addHook('onSend', async (request, _reply, payload) => {
      open.delete(request);
      return payload;
    });
  });
  return { emulator, seen, reset: () => Object.assign(seen, { maxCalls: 0, maxAsked: 0 }) };
}

const watched = await watchedEmulator();
afterAll(() => watched.emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(watched.emulator)).ping(),
);

describe.runIf(reachable)('sqs: parallel receive loops', () => {
  async function openPolls(options: { receivers?: number; prefetch: number }) {
    watched.reset();
    const transport = new SqsTransport({
      ...emulatorConfig(watched.emulator),
      ...(options.receivers !== undefined ? { receivers: options.receivers } : {}),
    });
    const channel = `loops-${suffix()}`;
    await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const subscription = await transport.consume(channel, (delivery) => delivery.ack(), {
      concurrency: 1,
      prefetch: options.prefetch,
    });
    return { transport, channel, subscription };
  }

  it('keeps `receivers` long polls open at once on an idle queue', async () => {
    const { transport, subscription } = await openPolls({ receivers: 4, prefetch: 40 });
    try {
      await expect.poll(() => watched.seen.maxCalls, { timeout: 5_000 }).toBe(4);
      expect(watched.seen.maxAsked).toBe(40);
    } finally {
      await subscription.close();
      await transport.close();
    }
  });

  it('by default runs ceil(prefetch / 10) loops, and never asks for more than the prefetch', async () => {
    const { transport, subscription } = await openPolls({ prefetch: 25 });
    try {
      await expect.poll(() => watched.seen.maxCalls, { timeout: 5_000 }).toBe(3);
      // 10 + 10 + 5: the third loop asks only for the room left.
      expect(watched.seen.maxAsked).toBe(25);
    } finally {
      await subscription.close();
      await transport.close();
    }
  });

  it('loops that share a prefetch deliver every message once', async () => {
    const { transport, channel, subscription } = await openPolls({ receivers: 5, prefetch: 50 });
    await subscription.close();
    const received = new Map<string, number>();
    const all = await transport.consume(
      channel,
      async (delivery) => {
        received.set(delivery.message.id, (received.get(delivery.message.id) ?? 0) + 1);
        await delivery.ack();
      },
      { concurrency: 8, prefetch: 50 },
    );
    try {
      const messages = Array.from({ length: 300 }, () => testMessage());
      for (let i = 0; i < messages.length; i += 50) await transport.send(channel, messages.slice(i, i + 50));
      await expect.poll(() => received.size, { timeout: 15_000 }).toBe(messages.length);
      expect([...received.values()].every((count) => count === 1)).toBe(true);
      expect(watched.seen.maxAsked).toBeLessThanOrEqual(50);
    } finally {
      await all.close();
      await transport.close();
    }
  });
});
