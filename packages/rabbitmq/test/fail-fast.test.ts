import { createService, ErrorCode } from '@switchyard/core';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_URL, unique } from './helpers.js';

/** A RabbitMQ URL through `proxy`, on an exchange of the test's own. */
function urlVia(proxy: TcpProxy, exchange: string): string {
  const url = new URL(RABBIT_URL);
  url.host = proxy.address;
  url.searchParams.set('exchange', exchange);
  return url.toString();
}

describe('fail fast where waiting helps nobody', () => {
  let reachable = false;
  let proxy: TcpProxy;
  const exchange = unique('sy-fast-x');
  const queues: string[] = [];
  beforeAll(async () => {
    reachable = await brokerReachable('RabbitMQ', probeRabbit);
    const target = new URL(RABBIT_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
  });
  afterAll(async () => {
    await proxy.close();
    if (reachable) await deleteObjects(queues, [exchange, `${exchange}.delay`]);
  });

  it('start() against a refused port rejects within a few seconds with SY_UNREACHABLE naming the host', async () => {
    await proxy.refuse();
    const service = createService({ name: unique('fast'), transport: urlVia(proxy, exchange), handleSignals: false });
    const started = Date.now();
    const error = await service.start().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toMatchObject({ code: ErrorCode.Unreachable });
    expect((error as Error).message).toContain(`127.0.0.1:${proxy.port}`);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(service.health().state).toBe('stopped');
    await proxy.restore();
  });

  it('ping() answers within 2 s against a refused port and against a broker that stopped answering', async () => {
    const refusedAt = new RabbitMqTransport({ url: urlVia(proxy, exchange) });
    await proxy.refuse();
    let started = Date.now();
    await expect(refusedAt.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    expect(Date.now() - started).toBeLessThan(2_500);
    await proxy.restore();
    await refusedAt.close();

    if (!reachable) return;
    const stalled = new RabbitMqTransport({ url: urlVia(proxy, exchange), heartbeatSeconds: 0 });
    await stalled.ping();
    proxy.stall();
    started = Date.now();
    await expect(stalled.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    expect(Date.now() - started).toBeLessThan(2_500);
    await proxy.restore();
    await stalled.close();
  });

  it('with waitForBroker, start() resolves while the broker refuses and the service consumes once it is back', async (test) => {
    if (!reachable) test.skip('RabbitMQ is unreachable');
    await proxy.refuse();
    const name = unique('patient');
    queues.push(name, `${exchange}.topology.${name}`);
    const service = createService({
      name,
      transport: urlVia(proxy, exchange),
      waitForBroker: true,
      handleSignals: false,
    });
    try {
      await service.start();
      expect(service.health()).toMatchObject({ state: 'running', consuming: false, healthy: false });
      await proxy.restore();
      await waitFor(() => service.health().healthy, 'the service to consume once the broker is back', 20_000);
      expect(service.health()).toMatchObject({ consuming: true, transport: { name: 'rabbitmq', connected: true } });
    } finally {
      await service.stop();
    }
  }, 40_000);
});
