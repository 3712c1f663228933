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
      2_000,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    const transports = results.filter((result) => result.check === 'transport');
    expect(transports.map((result) => result.status)).toEqual(['fail', 'fail']);
  });
});
