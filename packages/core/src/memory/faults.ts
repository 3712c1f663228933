import type { TransportMessage } from '../transport/types.js';

/**
 * Faults a {@link MemoryTransport} can inject into its own deliveries, so that
 * core's behaviour under broker misbehaviour can be tested without a broker.
 * All are off by default. Random choices use a generator seeded by `seed`, so a
 * test that sets a seed (or uses predicates) is repeatable.
 */
export interface MemoryFaults {
  /** Seed of the pseudo-random generator behind `duplicate` and `reorder` (default 1). */
  readonly seed?: number;
  /**
   * Deliver a message twice: a probability in [0, 1] per delivery, or a
   * predicate called with the message and its delivery count. The duplicate is
   * a second copy appended to the channel, settled on its own and never
   * duplicated again.
   */
  readonly duplicate?: number | ((message: TransportMessage, deliveryCount: number) => boolean);
  /** Take each delivery at random from the first `reorder` ready messages instead of the head (window size, >= 2 to take effect). */
  readonly reorder?: number;
  /** Extra latency before each handler call, in ms on the transport's clock. */
  readonly deliveryDelayMs?: number;
}

/** mulberry32: tiny, fast and good enough to make fault choices repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The compiled form of {@link MemoryFaults} that consumers consult per delivery. */
export interface FaultPlan {
  /** Index among the first `length` ready messages to take next; undefined means the head. */
  readonly pick: ((length: number) => number) | undefined;
  readonly duplicate: ((message: TransportMessage, deliveryCount: number) => boolean) | undefined;
  readonly deliveryDelayMs: number;
}

/** Compile fault options; an empty plan costs nothing on the hot path. */
export function planFaults(faults: MemoryFaults | undefined): FaultPlan {
  const random = seededRandom(faults?.seed ?? 1);
  const window = Math.floor(faults?.reorder ?? 0);
  const dup = faults?.duplicate;
  let duplicate: FaultPlan['duplicate'];
  if (typeof dup === 'function') duplicate = dup;
  else if (typeof dup === 'number' && dup > 0) duplicate = () => random() < dup;
  return {
    pick: window >= 2 ? (length) => Math.floor(random() * Math.min(window, length)) : undefined,
    duplicate,
    deliveryDelayMs: Math.max(0, faults?.deliveryDelayMs ?? 0),
  };
}
