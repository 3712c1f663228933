import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());

const topicName = `sy-conf-${suffix()}`;

runTransportConformance({
  name: 'sqs (FIFO queues, SNS FIFO topic)',
  probe: () => new SqsTransport(emulatorConfig(emulator)).ping(),
  createTransport: () => new SqsTransport({ ...emulatorConfig(emulator), topicName, fifo: true }),
  dropConnections: () => emulator.dropConnections(),
  // What FIFO changes: group ordering, dedup ids, no per-message delay (emulated), group blocking on nack/unsettled.
  only:
    process.env.SWITCHYARD_SQS_FULL_CONFORMANCE === '1'
      ? undefined
      : [
          'send-consume',
          'batch-send',
          'large-message',
          'unprovisioned-channel',
          'competing-consumers',
          'unsettled-return-on-close',
          'delayed-delivery',
          'delay-no-head-of-line',
          'order-per-key',
          'publish-fan-out',
          'fan-out-consumer-groups',
          'nack-redelivers',
          'nack-delay',
          'handler-rejects',
          'backpressure',
          'reconnect',
          'bus-command-to-named-service',
          'bus-event-fan-out',
          'bus-delayed-retry',
          'bus-dead-letter',
        ],
});
