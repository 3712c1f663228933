import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { SqsTransport, type SqsTransportConfig } from '../src/index.js';
import { startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

// The emulator must be up before registration: the suite reads capabilities
// from a transport built synchronously, and every transport needs the endpoint.
const emulator = await startEmulator();
afterAll(() => emulator.stop());

const base = (): SqsTransportConfig => ({
  endpoint: emulator.endpoint,
  region: 'us-east-1',
  credentials: TEST_CREDENTIALS,
  // Short long-polls keep close() quick; heartbeats every second prove extension works.
  waitTimeSeconds: 1,
  visibilityTimeoutSeconds: 3,
  onError: () => undefined,
});

const topic = `sy-conf-${suffix()}`;

runTransportConformance({
  name: 'sqs (SNS fan-out)',
  probe: () => new SqsTransport(base()).ping(),
  createTransport: () => new SqsTransport({ ...base(), topicName: topic }),
});
