import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { MemoryTransport } from '../memory/memory-transport.js';
import type { WireForm } from '../message/ecotone.js';
import { ServiceMap, type ServiceRoute } from './service-map.js';

/** An in-memory transport that claims it can write `wireForms` per message. */
function transportWriting(wireForms?: readonly WireForm[]): MemoryTransport {
  const transport = new MemoryTransport();
  if (wireForms !== undefined) {
    Object.defineProperty(transport, 'capabilities', { value: { ...transport.capabilities, wireForms } });
  }
  return transport;
}

const services: Record<string, ServiceRoute> = {
  php: { wire: 'ecotone', subscribes: ['billing.*'] },
  node: { subscribes: ['billing.*', 'audit.*'] },
};

describe('ServiceMap wire per entry', () => {
  it('routes an Ecotone entry with its wire, and events with it where that entry may subscribe', async () => {
    const transport = transportWriting(['ecotone']);
    const map = new ServiceMap({ transports: { default: transport }, services });
    expect(await map.route('php')).toMatchObject({ channel: 'php', wire: 'ecotone' });
    expect((await map.route('node')).wire).toBeUndefined();
    expect(await map.publishTargets('billing.charged')).toEqual([{ transport, wire: 'ecotone' }]);
    expect(await map.publishTargets('audit.logged')).toEqual([{ transport }]);
  });

  it('refuses an Ecotone entry on a transport that cannot write it, and an unknown wire at construction', async () => {
    const map = new ServiceMap({ transports: { default: transportWriting() }, services });
    await expect(map.route('php')).rejects.toMatchObject({ code: ErrorCode.Configuration });
    await expect(map.publishTargets('billing.charged')).rejects.toMatchObject({ code: ErrorCode.Configuration });
    expect((await map.publishTargets('audit.logged')).length).toBe(1);
    expect(
      () =>
        new ServiceMap({
          transports: { default: transportWriting() },
          services: { php: { wire: 'soap' as WireForm } },
        }),
    ).toThrow(/wire 'soap'/);
  });
});
