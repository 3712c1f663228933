/**
 * Where the two services of a run live, the same for the framework and for
 * the raw baseline it is compared with:
 *
 * - `single-thread`: producer and consumer in the main thread, one event loop;
 * - `consumer-worker`: the producer in the main thread, the consumer in a
 *   worker thread with its own event loop (as a separate process would).
 *
 * Either way each side has one connection for its producer and one for its
 * consumer (a framework service opens its own; the raw producer and consumer
 * open theirs).
 */
export type Layout = 'single-thread' | 'consumer-worker';

export const LAYOUTS: readonly Layout[] = ['single-thread', 'consumer-worker'];

/** `--layout`: one layout, or both (the default) in the order of {@link LAYOUTS}. */
export function parseLayouts(value: string | undefined): readonly Layout[] {
  if (value === undefined || value === 'both') return LAYOUTS;
  if (value === 'single-thread' || value === 'consumer-worker') return [value];
  throw new Error(`--layout: single-thread, consumer-worker or both, got ${value}`);
}
