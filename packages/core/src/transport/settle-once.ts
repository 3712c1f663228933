import type { Delivery, NackOptions } from './types.js';

/**
 * Wraps a transport's raw ack and nack so that the first call wins and every
 * later call of either is a no-op, as the {@link Delivery} contract demands.
 * A failed settle may be retried: only a settle that succeeded is final.
 */
export function settleOnce(
  ack: () => Promise<void>,
  nack: (options?: NackOptions) => Promise<void>,
): Pick<Delivery, 'ack' | 'nack'> {
  let pending: Promise<void> | undefined;
  const once = (run: () => Promise<void>): Promise<void> => {
    if (pending) return pending;
    pending = run().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  return {
    ack: () => once(ack),
    nack: (options) => once(() => nack(options)),
  };
}
