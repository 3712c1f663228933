import { ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerFixture, message, probeRabbit, RABBIT_URL } from './helpers.js';

const STALL_MS = 10_000;

describe('a broker that stops answering (stalled network or paused broker)', () => {
  const fixture = brokerFixture();
  let reachable = false;
  let proxy: TcpProxy;
  beforeAll(async () => {
    reachable = await brokerReachable('RabbitMQ', probeRabbit);
    const target = new URL(RABBIT_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
  });
  afterAll(() => proxy.close());

  it('a send rejects with SY_TIMEOUT after sendTimeoutMs instead of hanging; nothing is lost once it resumes', async (test) => {
    if (!reachable) test.skip('RabbitMQ is unreachable');
    const url = new URL(RABBIT_URL);
    url.host = proxy.address;
    const slow = fixture.open({ url: url.toString(), sendTimeoutMs: 1_500, heartbeatSeconds: 0 });
    const direct = fixture.open();
    const channel = fixture.channel('slow');
    await direct.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const { received, handler } = fixture.collect();
    await direct.consume(channel, handler);
    await slow.send(channel, [message({ n: 0 }, { id: 'before' })]);
    await waitFor(() => received.length === 1, 'the message sent before the stall', 10_000);

    proxy.stall(STALL_MS);
    const started = Date.now();
    const during = message({ n: 1 }, { id: 'during' });
    const error = await slow.send(channel, [during]).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    const took = Date.now() - started;
    expect(error).toMatchObject({ code: ErrorCode.Timeout });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(5_000);

    // The caller sends again (at-least-once); once the broker answers, nothing sent is missing.
    await waitFor(() => Date.now() - started > STALL_MS, 'the stall to end', STALL_MS + 2_000, 100);
    await slow.send(channel, [during, message({ n: 2 }, { id: 'after' })]);
    const ids = () => new Set(received.map((delivery) => delivery.message.id));
    await waitFor(() => ids().has('during') && ids().has('after'), 'every message after the stall', 15_000);
  }, 40_000);
});
