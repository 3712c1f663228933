import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';

/** A running fauxqs (SQS + SNS emulator) bound to 127.0.0.1 on a free port. */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Start fauxqs on loopback only. fauxqs's own `startFauxqs` listens on
 * 0.0.0.0, so the app is built and bound here instead. Without a `host`
 * option, queue URLs name the host the request came to (127.0.0.1:<port>).
 */
export async function startEmulator(): Promise<Emulator> {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => app.close() };
}

/** Static credentials the emulator accepts (it accepts any). */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** A short random suffix for unique queue and topic names. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 10);
}
