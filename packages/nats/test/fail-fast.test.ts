import { createService, ErrorCode } from '@switchyard/core';
import type { ConnectionState } from '@switchyard/core/transport';
import { brokerReachable, TcpProxy, testMessage } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { deleteStreams, NATS_ADDRESS, NATS_URL, probeNats } from './helpers.js';

describe('start() against a NATS server that refuses connections', () => {
  it('rejects within a few seconds with SY_UNREACHABLE naming the address, and reports the failed connect', async () => {
    const transport = new NatsTransport({ url: 'nats://127.0.0.1:1' });
    const states: ConnectionState[] = [];
    const stop = transport.watchConnection((state) => states.push(state));
    const service = createService({ name: 'fail-fast', transport, handleSignals: false });
    const started = Date.now();
    const error = await service.start().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    stop();
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(error).toMatchObject({ code: ErrorCode.Unreachable });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(service.health().state).toBe('stopped');
    expect(states[0]).toMatchObject({ status: 'disconnected', endpoint: 'nats://127.0.0.1:1' });
    await transport.close();
  });
});

const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);

describe.runIf(reachable)('ping()', () => {
  it('answers within about 2 s when the server stalls (no bytes either way)', async () => {
    const proxy = await TcpProxy.start(NATS_ADDRESS);
    const transport = new NatsTransport({ url: `nats://${proxy.address}` });
    try {
      await transport.ping();
      proxy.stall();
      const started = Date.now();
      await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await proxy.restore();
      await transport.close();
      await proxy.close();
    }
  });

  it('a send to a stalled server rejects with SY_SEND_FAILED after sendTimeoutMs instead of hanging', async () => {
    const proxy = await TcpProxy.start(NATS_ADDRESS);
    const transport = new NatsTransport({
      url: `nats://${proxy.address}`,
      prefix: `sytest_stall_${Date.now().toString(36)}`,
      sendTimeoutMs: 1_500,
      publishAckTimeoutMs: 500,
    });
    try {
      await transport.provision({ channels: [{ name: 'stalled', subscriptions: [] }] });
      proxy.stall();
      const started = Date.now();
      await expect(transport.send('stalled', [testMessage()])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await proxy.restore();
      await transport.close();
      await proxy.close();
      await deleteStreams(transport.prefix);
    }
  });
});
