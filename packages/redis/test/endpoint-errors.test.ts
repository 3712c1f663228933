import { ErrorCode, TransportError } from '@switchyard/core/transport';
import { brokerReachable } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('endpoint-errors');
// A user that may run everything except TYPE, so that the driver's own error reaches the transport.
const user = uniqueName('sy-no-type');

describe.runIf(reachable)('foreign streams: driver errors are wrapped (sendEndpoint, consumeEndpoint)', () => {
  let transport: RedisStreamsTransport;
  beforeAll(async () => {
    await admin.call('ACL', 'SETUSER', user, 'on', 'nopass', '~*', '&*', '+@all', '-type');
    const url = new URL(REDIS_URL);
    url.username = user;
    transport = new RedisStreamsTransport({ url: url.toString(), prefix });
  });
  afterAll(async () => {
    await transport?.close();
    await admin.call('ACL', 'DELUSER', user).catch(() => {});
    await deleteKeys(admin, prefix).catch(() => {});
    admin.disconnect();
  });

  it('sendEndpoint rejects with SY_SEND_FAILED and the driver error as cause when the key type cannot be read', async () => {
    const endpoint = `${prefix}:foreign:${uniqueName('orders')}`;
    const sent = transport.sendEndpoint(endpoint, [{ id: 'm-1', headers: {}, body: new TextEncoder().encode('{}') }]);
    const error = await sent.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: ErrorCode.SendFailed });
    expect(String((error as Error).cause)).toMatch(/NOPERM/);
    expect(await admin.exists(endpoint)).toBe(0);
  });

  it('consumeEndpoint rejects with SY_TRANSPORT_UNAVAILABLE and the driver error as cause', async () => {
    const endpoint = `${prefix}:foreign:${uniqueName('refs')}`;
    await admin.xadd(endpoint, '*', 'data', '{}');
    const error = await transport
      .consumeEndpoint(endpoint, async () => undefined, { concurrency: 1 })
      .then(
        async (subscription) => {
          await subscription.close();
          return undefined;
        },
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: ErrorCode.TransportUnavailable });
    expect(String((error as Error).cause)).toMatch(/NOPERM/);
  });
});
