import { createService } from '@switchyard/core';
import type { ConnectionState } from '@switchyard/core/transport';
import { TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

/** watchConnection and service.health() through an outage of the endpoint (a TcpProxy refusing in front of fauxqs). */
const emulator = await startEmulator();
const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(emulator.endpoint).port) });
afterAll(async () => {
  await proxy.close();
  await emulator.stop();
});

describe('sqs: connection state', () => {
  it('a service reports connected → disconnected → connected in health() and through watchConnection', async () => {
    const transport = new SqsTransport({
      ...emulatorConfig(emulator),
      endpoint: `http://${proxy.address}`,
      topicName: `sy-conn-${suffix()}`,
    });
    const states: ConnectionState[] = [];
    const unwatch = transport.watchConnection((state) => {
      if (states.at(-1)?.status !== state.status) states.push(state);
    });
    const service = createService({ name: `conn-${suffix()}`, transport, handleSignals: false });
    try {
      await service.start();
      await waitFor(() => service.health().transport.connected === true, 'connected after start', 10_000);
      expect(service.health()).toMatchObject({ healthy: true, transport: { name: 'sqs', connected: true } });

      await proxy.refuse();
      await waitFor(
        () => service.health().transport.connected === false,
        'disconnected while the endpoint refuses',
        15_000,
      );
      expect(service.health().healthy).toBe(false);
      expect(service.health().lastError).toBeDefined();

      await proxy.restore();
      await waitFor(() => service.health().transport.connected === true, 'connected once the endpoint is back', 20_000);
      expect(states.map((state) => state.status)).toEqual(['connected', 'disconnected', 'connected']);
      expect(states[0]?.endpoint).toBe(`http://${proxy.address}`);
    } finally {
      unwatch();
      await proxy.restore();
      await service.stop();
      await transport.close();
    }
  }, 60_000);

  it('an endpoint that answers with an error status counts as connected (the endpoint is there)', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), topicName: `sy-conn-${suffix()}` });
    const states: ConnectionState['status'][] = [];
    transport.watchConnection((state) => states.push(state.status));
    try {
      await expect(transport.sendEndpoint(`missing-${suffix()}`, [])).resolves.toBeUndefined();
      await expect(
        transport.sendEndpoint(`missing-${suffix()}`, [{ id: 'm1', headers: {}, body: new Uint8Array([123, 125]) }]),
      ).rejects.toThrow();
      expect(states).toEqual(['connected']);
    } finally {
      await transport.close();
    }
  });
});
