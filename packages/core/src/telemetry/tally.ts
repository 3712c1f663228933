import type { Attributes, Meter, MetricOptions } from '@opentelemetry/api';

/**
 * A monotonic counter counted in process and reported through an observable
 * counter when the meter provider collects. For the per-message counters: an
 * SDK counter hashes its attributes on every `add` (sorted keys, JSON), a
 * tally looks up one short key and builds the attributes once per key.
 * Exporters see the same cumulative sums as with a counter.
 * @internal
 */
export class Tally {
  readonly #entries = new Map<string, { readonly attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const entry of this.#entries.values()) result.observe(entry.value, entry.attributes);
    });
  }

  /** Count one under `key`; `attributes` builds the key's attributes the first time. Returns them. */
  add(key: string, attributes: () => Attributes): Attributes {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { attributes: attributes(), value: 0 };
      this.#entries.set(key, entry);
    }
    entry.value++;
    return entry.attributes;
  }
}
