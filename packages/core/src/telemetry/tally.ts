import type { Attributes, Meter, MetricOptions } from '@opentelemetry/api';

/** One attribute set of a {@link Tally} and its count so far. Callers may cache it and count with `value++`. */
export interface TallyCell {
  readonly attributes: Attributes;
  value: number;
}

/**
 * A monotonic counter counted in process and reported through an observable
 * counter when the meter provider collects. For the per-message counters: an
 * SDK counter hashes its attributes on every `add` (sorted keys, JSON); a
 * tally's cell is looked up once per attribute set (and then cached by its
 * caller), so counting one message is one increment. Exporters see the same
 * cumulative sums as with a counter.
 * @internal
 */
export class Tally {
  readonly #cells = new Map<string, TallyCell>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const cell of this.#cells.values()) result.observe(cell.value, cell.attributes);
    });
  }

  /** The cell of `key` (one per key, so no attribute set is observed twice); `attributes` builds it the first time. */
  cell(key: string, attributes: () => Attributes): TallyCell {
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { attributes: attributes(), value: 0 };
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** Count one under `key`; `attributes` builds the key's attributes the first time. Returns them. */
  add(key: string, attributes: () => Attributes): Attributes {
    const cell = this.cell(key, attributes);
    cell.value++;
    return cell.attributes;
  }
}
