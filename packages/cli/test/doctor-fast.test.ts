import { TcpProxy } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../src/commands/doctor.js';

describe('switchyard doctor against brokers that do not answer', () => {
  it('answers within 2 s with a failure per unreachable transport (refused ports)', async () => {
    const started = Date.now();
    const results = await diagnose(
      {
        source: 'test',
        transports: { rabbit: 'amqp://guest:guest@127.0.0.1:1', redis: 'redis://127.0.0.1:1' },
        services: {},
        deadLetters: undefined,
        app: undefined,
      },
      1_500,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    const transports = results.filter((result) => result.check === 'transport');
    expect(transports.map((result) => result.status)).toEqual(['fail', 'fail']);
  });

  it('answers within 2 s when a broker accepted the connection but stopped answering', async () => {
    const rabbit = new URL(process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
    const proxy = await TcpProxy.start({ host: rabbit.hostname, port: Number(rabbit.port || 5672) });
    rabbit.host = proxy.address;
    try {
      proxy.stall(); // before the first byte: the TCP connect succeeds, the AMQP handshake never answers
      const started = Date.now();
      const results = await diagnose(
        {
          source: 'test',
          transports: { rabbit: rabbit.toString() },
          services: {},
          deadLetters: undefined,
          app: undefined,
        },
        1_500,
      );
      expect(Date.now() - started).toBeLessThan(2_100);
      expect(results.find((result) => result.check === 'transport')?.status).toBe('fail');
    } finally {
      await proxy.close();
    }
  });
});
