import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { SqsTransport, SubscriptionRegistry } from '../src/index.js';
import { emulatorConfig, startEmulator } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());

// Direct fan-out: publishers learn subscriptions from a registry; all transports of this process share one.
const registry = new SubscriptionRegistry();

runTransportConformance({
  name: 'sqs (direct fan-out)',
  probe: () => new SqsTransport(emulatorConfig(emulator)).ping(),
  createTransport: () => new SqsTransport({ ...emulatorConfig(emulator), fanout: 'direct', registry }),
  // Only publish differs from the SNS mode (conformance.test.ts runs the whole suite); the rest would repeat it.
  only:
    process.env.SWITCHYARD_SQS_FULL_CONFORMANCE === '1'
      ? undefined
      : [
          'publish-fan-out',
          'provision-idempotent',
          'fan-out-consumer-groups',
          'publish-no-subscriber',
          'bus-event-fan-out',
          'delayed-delivery',
        ],
});
