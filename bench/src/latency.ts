import * as hdr from 'hdr-histogram-js';

/** A latency recorder backed by an HDR histogram (microsecond resolution, 3 significant digits). */
export class Latency {
  readonly #histogram = hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** Record one latency, in ms. */
  record(ms: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1_000)));
  }

  /** Percentile in ms. */
  percentile(p: number): number {
    return this.#histogram.getValueAtPercentile(p) / 1_000;
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Add another recorder's values (e.g. from a worker). */
  addEncoded(encoded: string): void {
    this.#histogram.add(hdr.decodeFromCompressedBase64(encoded));
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.#histogram);
  }
}
