import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { SqsTransportConfig } from '../src/index.js';

/** A running fauxqs (SQS + SNS emulator) bound to 127.0.0.1 on a free port. */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Cut every open client connection (long polls included), as a network blip would. */
  dropConnections(): Promise<void>;
  stop(): Promise<void>;
}

/** The fauxqs app (a Fastify instance), for a test that hooks its requests. */
export type EmulatorApp = ReturnType<typeof buildApp>;

/**
 * Start fauxqs on loopback only. fauxqs's own `startFauxqs` listens on
 * 0.0.0.0, so the app is built and bound here instead. Without a `host`
 * option, queue URLs name the host the request came to (127.0.0.1:<port>).
 * `prepare` runs before it listens (to add request hooks).
 */
export async function startEmulator(prepare?: (app: EmulatorApp) => void): Promise<Emulator> {
  const app = buildApp({ logger: false });
  prepare?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dropConnections: async () => app.server.closeAllConnections(),
    stop: () => app.close(),
  };
}

/** Static credentials the emulator accepts (it accepts any). */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** A short random suffix for unique queue and topic names. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

/**
 * Transport options for tests on `emulator`: short long-polls keep close()
 * quick, and a 3 s visibility timeout makes heartbeats and redeliveries
 * happen within a test's time.
 */
export function emulatorConfig(emulator: Emulator): SqsTransportConfig {
  return {
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 3,
    onError: () => undefined,
  };
}

/** Whether the queue at `url` exists on `emulator`, asked with a client of the test's own. */
export async function queueExists(emulator: Emulator, url: string): Promise<boolean> {
  const admin = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  try {
    await admin.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'QueueDoesNotExist') return false;
    throw error;
  } finally {
    admin.destroy();
  }
}
