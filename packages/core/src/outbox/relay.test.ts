import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../bus/dispatcher.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { OutboxRecord, OutboxStore } from '../resilience/stores.js';
import { ServiceMap } from '../service/service-map.js';
import { systemClock } from '../util/clock.js';
import { OutboxRelay } from './relay.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function record(id: string, service: string): OutboxRecord {
  const outbound: OutboundMessage = {
    destination: { kind: 'send', service },
    message: { id, headers: { 'ce-id': id }, body: new Uint8Array([1]) },
  };
  return { id, outbound };
}

/** A store that hands out its records once (like a leasing store) and logs every call. */
class LeasingStore implements OutboxStore {
  readonly calls: string[] = [];
  readonly #free: OutboxRecord[];
  constructor(records: OutboxRecord[]) {
    this.#free = records;
  }
  async pending(limit: number): Promise<OutboxRecord[]> {
    return this.#free.splice(0, limit);
  }
  async markForwarded(ids: readonly string[]): Promise<void> {
    this.calls.push(`forwarded ${ids.join(',')}`);
  }
  async release(ids: readonly string[]): Promise<void> {
    this.calls.push(`released ${ids.join(',')}`);
    this.#free.unshift(...ids.map((id) => record(id, 'nowhere')));
  }
}

describe('OutboxRelay', () => {
  it('releases the records of a failed forward, so the next flush offers them again at once', async () => {
    const map = new ServiceMap({ transports: { default: 'memory://' }, services: {}, strict: true });
    const store = new LeasingStore([record('a', 'nowhere'), record('b', 'nowhere')]);
    const relay = new OutboxRelay(store, new Dispatcher(map), { clock: systemClock, logger: quiet });
    await expect(relay.flush()).rejects.toMatchObject({ code: 'SY_NO_ROUTE' });
    expect(store.calls).toEqual(['released a,b']);
    await expect(relay.flush()).rejects.toMatchObject({ code: 'SY_NO_ROUTE' });
    expect(store.calls).toEqual(['released a,b', 'released a,b']);
    await map.close();
  });
});
