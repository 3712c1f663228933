import { Socket } from 'node:net';
import { brokerReachable } from '@switchyard/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RabbitMqTransport } from '../src/index.js';
import { probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

/**
 * Node has no public getter for TCP_NODELAY, so this watches the real socket:
 * every `setNoDelay` call amqplib makes on it (a spy on `net.Socket`'s
 * prototype that still calls through), and Node's own record of the flag it
 * last gave the socket handle (the `kSetNoDelay` symbol, what `setNoDelay`
 * compares against before it calls setsockopt). Without `noDelay: true` in
 * the transport's socket options amqplib calls `setNoDelay(false)`, and both
 * checks fail.
 */
describe.runIf(reachable)('RabbitMQ socket options', () => {
  const transports: RabbitMqTransport[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  it("the broker connection's socket has TCP_NODELAY on (Nagle off)", async () => {
    const calls: Array<{ socket: Socket; enable: boolean | undefined }> = [];
    const original = Socket.prototype.setNoDelay;
    vi.spyOn(Socket.prototype, 'setNoDelay').mockImplementation(function (this: Socket, enable?: boolean) {
      calls.push({ socket: this, enable });
      return original.call(this, enable);
    });
    const port = Number(new URL(RABBIT_URL).port || 5672);
    const transport = new RabbitMqTransport({ url: RABBIT_URL, connectionName: unique('sy-test-nodelay') });
    transports.push(transport);
    await transport.ping();
    const ours = calls.filter((call) => call.socket.remotePort === port);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.map((call) => call.enable)).not.toContain(false);
    const socket = (ours.at(-1) as { socket: Socket }).socket;
    const applied = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kSetNoDelay');
    // Node's internal record: when a future Node drops it, the call check above still holds.
    if (applied !== undefined) expect((socket as unknown as Record<symbol, unknown>)[applied]).toBe(true);
    expect(socket.destroyed).toBe(false);
  });
});
