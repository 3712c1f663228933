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
});
