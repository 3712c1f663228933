import { type Delivery, ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, testMessage, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

/**
 * fauxqs with a hook on DeleteMessageBatch: the test can hold the calls (the
 * emulator answers them once let go) or break them (they name a queue that
 * does not exist, so the emulator refuses them). Every SQS call that arrives
 * is logged, in order, next to the test's own events.
 */
async function deleteControlledEmulator() {
  const events: string[] = [];
  const control = { hold: false, broken: false, held: [] as Array<() => void> };
  const emulator = await startEmulator((app) =>
    app.addHook('preHandler', async (request) => {
      const action = String(request.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
      events.push(action);
      if (action !== 'DeleteMessageBatch') return;
      const body = request.body as { QueueUrl?: string };
      if (control.broken) body.QueueUrl = `${body.QueueUrl}-gone`;
      if (control.hold) await new Promise<void>((resolve) => control.held.push(resolve));
    }),
  );
  const letGo = () => {
    control.hold = false;
    for (const answer of control.held.splice(0)) answer();
  };
  return { emulator, events, control, letGo };
}

const controlled = await deleteControlledEmulator();
afterAll(() => controlled.emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(controlled.emulator)).ping(),
);

describe.runIf(reachable)('sqs: handler slots and deletes', () => {
  const transports: SqsTransport[] = [];
  afterEach(async () => {
    controlled.letGo();
    controlled.control.broken = false;
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  async function consumer(
    handler: (delivery: Delivery) => Promise<void>,
    options: { concurrency: number; prefetch: number },
  ) {
    const transport = new SqsTransport(emulatorConfig(controlled.emulator));
    transports.push(transport);
    const channel = `slot-${suffix()}`;
    await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
    await transport.consume(channel, handler, options);
    return { transport, channel };
  }

  it('with concurrency 1, the next handler runs while the previous delete is still unanswered', async () => {
    const started: string[] = [];
    const acked: string[] = [];
    controlled.control.hold = true;
    const { transport, channel } = await consumer(
      async (delivery) => {
        started.push(delivery.message.id);
        // As core does: the ack is the handler's last step, and the handler awaits it.
        await delivery.ack();
        acked.push(delivery.message.id);
      },
      { concurrency: 1, prefetch: 10 },
    );
    const messages = [testMessage({ seq: 1 }), testMessage({ seq: 2 })];
    await transport.send(channel, messages);

    await waitFor(
      () => started.length === 2,
      () => `both handlers to start (started ${started.length})`,
      5_000,
    );
    // The first delete may still be on its way to the emulator when the second handler starts.
    await waitFor(() => controlled.control.held.length >= 1, 'the first delete to reach the emulator', 5_000);
    expect(acked).toEqual([]);

    controlled.letGo();
    await waitFor(() => acked.length === 2, 'both deletes to be answered', 5_000);
    expect(acked.sort()).toEqual(messages.map((m) => m.id).sort());
  });

  it('deletes a message only after its handler finished', async () => {
    let finishHandler: () => void = () => undefined;
    const finishing = new Promise<void>((resolve) => (finishHandler = resolve));
    let acked = false;
    const { transport, channel } = await consumer(
      async (delivery) => {
        controlled.events.push('handler-started');
        await finishing;
        controlled.events.push('handler-finished');
        await delivery.ack();
        acked = true;
      },
      { concurrency: 1, prefetch: 10 },
    );
    await transport.send(channel, [testMessage()]);
    await waitFor(() => controlled.events.includes('handler-started'), 'the handler to start', 5_000);
    const from = controlled.events.lastIndexOf('handler-started');
    // A heartbeat (every third of the 3 s visibility timeout) shows the consumer kept running meanwhile.
    await waitFor(
      () => controlled.events.indexOf('ChangeMessageVisibilityBatch', from) !== -1,
      'a heartbeat while the handler runs',
      5_000,
    );
    expect(controlled.events.indexOf('DeleteMessageBatch', from)).toBe(-1);

    finishHandler();
    await waitFor(() => acked, 'the ack to be answered', 5_000);
    const finished = controlled.events.indexOf('handler-finished', from);
    const deleted = controlled.events.indexOf('DeleteMessageBatch', from);
    expect(deleted).toBeGreaterThan(finished);
  });

  it('a delete SQS refuses rejects that ack, while the slot already went to the next message', async () => {
    const started: string[] = [];
    const failures: unknown[] = [];
    controlled.control.broken = true;
    const { transport, channel } = await consumer(
      async (delivery) => {
        started.push(delivery.message.id);
        await delivery.ack().catch((error: unknown) => failures.push(error));
      },
      { concurrency: 1, prefetch: 10 },
    );
    await transport.send(channel, [testMessage({ seq: 1 }), testMessage({ seq: 2 })]);
    await waitFor(
      () => failures.length >= 2,
      () => `both acks to fail (failed ${failures.length})`,
      10_000,
    );
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatchObject({ code: ErrorCode.TransportUnavailable });
  });

  it('stops receiving while `prefetch` deletes wait for an answer', async () => {
    const handled: string[] = [];
    controlled.control.hold = true;
    const { transport, channel } = await consumer(
      async (delivery) => {
        handled.push(delivery.message.id);
        await delivery.ack();
      },
      { concurrency: 10, prefetch: 10 },
    );
    const messages = Array.from({ length: 25 }, (_, seq) => testMessage({ seq }));
    await transport.send(channel, messages);
    await waitFor(
      () => handled.length >= 10,
      () => `10 handlers to run (ran ${handled.length})`,
      5_000,
    );
    // Longer than a long poll (1 s): a receive loop that ran ahead of the deletes would have brought more by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(handled.length).toBe(10);

    controlled.letGo();
    await waitFor(
      () => handled.length === 25,
      () => `every message (handled ${handled.length})`,
      10_000,
    );
  });
});
