import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, queueExists, startEmulator, suffix } from './emulator.js';

// The emulator must be up before registration: the suite reads capabilities
// from a transport built synchronously, and every transport needs the endpoint.
const emulator = await startEmulator();
afterAll(() => emulator.stop());

const topicName = `sy-conf-${suffix()}`;

runTransportConformance({
  name: 'sqs (SNS fan-out)',
  probe: () => new SqsTransport(emulatorConfig(emulator)).ping(),
  createTransport: () => new SqsTransport({ ...emulatorConfig(emulator), topicName }),
  dropConnections: () => emulator.dropConnections(),
  replyChannelExists: (url) => queueExists(emulator, url),
});
