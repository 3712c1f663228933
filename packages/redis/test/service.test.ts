import { brokerReachable, commandThenPatternEvent } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('service');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

// End to end through core: the transport is built from a redis:// URL by core's lazy import.
describe.runIf(reachable)('services over a redis:// URL', () => {
  it('a command reaches its service, whose event reaches a pattern subscriber', async () => {
    const url = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&leaseMs=2000`;
    const orders = uniqueName('orders');
    const shipping = uniqueName('shipping');
    const { handled, shipped } = await commandThenPatternEvent(url, { orders, shipping });
    expect(handled).toEqual(['o-1']);
    expect(shipped).toEqual(['o-1']);
    expect(await admin.hget(`${prefix}:subs`, shipping)).toBe('order.*');
  });
});
