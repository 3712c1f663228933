import { fileURLToPath } from 'node:url';
import { type ConsumerChild, startConsumerScript } from '../../sqlite/test/child.js';

export type { ConsumerChild };

const CHILD = fileURLToPath(new URL('./fixtures/consume-child.ts', import.meta.url));

/** Start `fixtures/consume-child.ts` under tsx with the `source` condition, as a real separate process. */
export function startConsumer(
  connectionString: string,
  schema: string,
  channel: string,
  leaseMs: number,
  concurrency = 8,
  delayMs = 0,
): ConsumerChild {
  return startConsumerScript(CHILD, [
    connectionString,
    schema,
    channel,
    String(leaseMs),
    String(concurrency),
    String(delayMs),
  ]);
}
