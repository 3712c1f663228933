import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceMap, type Transport } from '@switchyard/core';
import { MemoryTransport } from '@switchyard/core/memory';
import { testMessages } from '@switchyard/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliConfig } from '../src/config.js';
import { ChannelMonitor } from '../src/dashboard/channels.js';

/** The dashboard's channel monitor over in-memory transports: counts, what is left out, and why. */
describe('ChannelMonitor', () => {
  const dirs: string[] = [];
  const maps: ServiceMap[] = [];
  afterEach(async () => {
    for (const map of maps.splice(0)) await map.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const setup = (transports: Record<string, Transport>, urls: Record<string, string>) => {
    const config: CliConfig = {
      source: 'test',
      transports: urls,
      services: {
        'order-service': { transport: 'counted' },
        'mail-service': { transport: 'silent', channel: 'mail' },
        'audit-service': { transport: 'broken' },
        'ledger-service': { transport: 'file' },
        'cart-service': { transport: 'elsewhere' },
      },
      deadLetters: undefined,
      app: undefined,
    };
    const map = new ServiceMap({ transports: { ...urls, ...transports } });
    maps.push(map);
    return new ChannelMonitor(config, map, 3);
  };

  it('reports what each transport tells, leaves out what it cannot, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-channels-'));
    dirs.push(dir);
    const missing = join(dir, 'not-yet.db');
    const counted = new MemoryTransport();
    await counted.send('order-service', testMessages(2));
    const memory = new MemoryTransport();
    const silent: Transport = {
      name: 'silent',
      capabilities: memory.capabilities,
      provision: (t) => memory.provision(t),
      send: (c, m) => memory.send(c, m),
      publish: (m) => memory.publish(m),
      consume: (c, h, o) => memory.consume(c, h, o),
      ping: () => memory.ping(),
      close: () => memory.close(),
    };
    const broken: Transport = {
      ...silent,
      name: 'broken',
      channelStats: () => Promise.reject(new Error('the broker said no')),
    };
    const monitor = setup(
      { counted, silent, broken },
      {
        counted: 'test://counted',
        silent: 'test://silent',
        broken: 'test://broken',
        file: `sqlite:${missing}`,
        elsewhere: 'memory://',
      },
    );
    const snapshot = await monitor.read();
    expect(snapshot.channels).toEqual([
      { service: 'order-service', transport: 'counted', channel: 'order-service', depth: 2, inFlight: 0, consumers: 0 },
      { service: 'mail-service', transport: 'silent', channel: 'mail' },
      { service: 'audit-service', transport: 'broken', channel: 'audit-service' },
      { service: 'ledger-service', transport: 'file', channel: 'ledger-service' },
      { service: 'cart-service', transport: 'elsewhere', channel: 'cart-service' },
    ]);
    expect(snapshot.transports).toEqual([
      { transport: 'broken', fields: [], error: 'the broker said no' },
      { transport: 'counted', fields: ['depth', 'inFlight', 'consumers'] },
      {
        transport: 'elsewhere',
        fields: [],
        error: "memory:// lives inside each service's process: the dashboard cannot see its channels",
      },
      { transport: 'file', fields: [], error: `database '${missing}' does not exist yet` },
      { transport: 'silent', fields: [], error: 'silent reports no channel counts' },
    ]);
    expect(existsSync(missing)).toBe(false); // never created by looking
  });

  it('keeps the last samples, oldest first', async () => {
    const counted = new MemoryTransport();
    const monitor = setup({ counted }, { counted: 'test://counted' });
    for (let n = 0; n < 5; n++) {
      await counted.send('order-service', testMessages(1));
      await monitor.sample();
    }
    expect(monitor.samples.map((s) => s.channels[0]?.depth)).toEqual([3, 4, 5]);
  });
});
