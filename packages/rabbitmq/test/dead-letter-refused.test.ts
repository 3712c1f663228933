import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createService, defineCommand } from '@switchyard/core';
import { brokerReachable, deadLetterRecord, waitFor } from '@switchyard/testing';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const run = promisify(execFile);
const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);
const exchange = unique('sy-test-refused');
const service = unique('orders');
const deadLetterQueue = `${exchange}.dead-letters.${service}`;
const policy = unique('sy-test-refuse');
const Ping = defineCommand('test.ping', z.object({ n: z.number() }));

afterAll(async () => {
  if (!reachable) return;
  await run('rabbitmqctl', ['clear_policy', policy]).catch(() => undefined);
  const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', '--quiet', '--no-table-headers']);
  const delayQueues = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(`${exchange}.delay.`));
  await deleteObjects(
    [service, deadLetterQueue, `${exchange}.topology.${service}`, ...delayQueues],
    [exchange, `${exchange}.delay`],
  );
});

describe.runIf(reachable)('a dead letter the broker refuses to store', () => {
  it('is not acked: the message stays and comes back, a log line says why; after recovery it is dead-lettered once', async () => {
    // The broker refuses every publish to the service's dead-letter queue (max-length 0, reject-publish).
    await run('rabbitmqctl', [
      'set_policy',
      policy,
      `^${deadLetterQueue.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}$`,
      '{"max-length":0,"overflow":"reject-publish"}',
      '--apply-to',
      'queues',
    ]);
    const probe = new RabbitMqTransport({ url: RABBIT_URL, exchange, connectionName: unique('sy-probe') });
    const store = probe.deadLetterStore(service);
    await expect
      .poll(
        () =>
          store.add(deadLetterRecord(0)).then(
            async () => {
              for (const record of await store.list()) await store.delete(record.id);
              return 'stored';
            },
            () => 'refused',
          ),
        { timeout: 10_000 },
      )
      .toBe('refused');

    const logged: string[] = [];
    const orders = createService({
      name: service,
      transport: `${RABBIT_URL}/?exchange=${exchange}`,
      retry: { instantRetries: 0, delayedRetries: 0 },
      handleSignals: false,
      logger: {
        debug() {},
        info() {},
        warn() {},
        error: (object: object) => logged.push(String((object as { err?: Error }).err?.message)),
      },
    });
    let attempts = 0;
    let deadLettered = 0;
    orders.handle(
      Ping,
      () => {
        attempts++;
        throw new Error('poison');
      },
      { distributed: true },
    );
    orders.on('deadLettered', () => deadLettered++);
    await orders.start();
    try {
      await orders.distributedBus.sendCommand(service, Ping, { n: 1 });
      await waitFor(
        () => attempts >= 2,
        () => `a second attempt (${attempts} so far)`,
        15_000,
      );
      expect(deadLettered).toBe(0);
      expect(await store.count()).toBe(0);
      expect(logged[0]).toMatch(/could not be stored durably, so the message stays on the broker/);

      await run('rabbitmqctl', ['clear_policy', policy]);
      await waitFor(() => deadLettered === 1, 'the dead letter after recovery', 20_000);
      await orders.whenIdle();
      const records = await store.list();
      console.log(
        `[rabbitmq] refused dead letter: ${attempts} attempts, ${logged.length} logged refusals, ${records.length} record after recovery`,
      );
      expect(records).toHaveLength(1);
      expect(records[0]?.reason.message).toContain('poison');
      const connection = await amqp.connect(RABBIT_URL);
      try {
        const channel = await connection.createChannel();
        await expect.poll(async () => (await channel.checkQueue(service)).messageCount, { timeout: 10_000 }).toBe(0);
      } finally {
        await connection.close();
      }
      expect(deadLettered).toBe(1);
    } finally {
      await orders.stop();
      await probe.close();
    }
  });
});
