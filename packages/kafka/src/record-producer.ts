import { SendBatcher } from '@switchyard/core/transport';
import type { KafkaClient, OutgoingRecord } from './client.js';

/**
 * The transport's one way to append records. Core sends one message per
 * `send` call with many calls at once; appending each as its own produce
 * request, one request in flight per broker, caps throughput at a few
 * thousand records per second. Here every record submitted in one turn of the
 * event loop (sends, publishes, nack re-produces, delay forwards) goes out in
 * one `produce` call.
 *
 * One flush at a time: the producer keeps one request in flight per broker so
 * a retry cannot reorder records, and two overlapping flushes could let a
 * retried earlier batch land after a later one. While a flush runs the next
 * submissions accumulate, so batches grow with the load instead.
 *
 * Guarantees ({@link SendBatcher}'s): `produce` resolves only once every record
 * it was given was acknowledged with acks=all, and rejects with the client's
 * `TransportError` otherwise (records of a failed request may still have been
 * stored). Records keep submission order; a submission is never split across
 * two requests in flight. Bytes per request stay near `maxRequestBytes`: a
 * flush larger than that goes out as consecutive requests (a single record
 * larger than it goes alone).
 */
export class RecordProducer {
  readonly #client: KafkaClient;
  readonly #maxRequestBytes: number;
  readonly #batcher: SendBatcher<OutgoingRecord>;

  /** `maxRecords`: records per produce request at most. */
  constructor(client: KafkaClient, maxRequestBytes: number, maxRecords = 1_000) {
    this.#client = client;
    this.#maxRequestBytes = maxRequestBytes;
    this.#batcher = new SendBatcher((records) => this.#flush(records), { maxBatch: maxRecords, maxInFlight: 1 });
  }

  /** Append `records` (their topics must exist or be auto-creatable); resolves after acks=all. */
  produce(records: readonly OutgoingRecord[]): Promise<void> {
    return this.#batcher.submit(records);
  }

  async #flush(records: OutgoingRecord[]): Promise<void> {
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const size = recordSize(records[i] as OutgoingRecord);
      if (i > start && bytes + size > this.#maxRequestBytes) {
        await this.#client.produce(records.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    await this.#client.produce(start === 0 ? records : records.slice(start));
  }
}

/** Approximate encoded size: value, key and headers (the per-record framing is small). */
function recordSize(record: OutgoingRecord): number {
  let size = record.value.byteLength + (record.key?.length ?? 0) + 16;
  const headers = record.headers;
  for (const name in headers) size += name.length + (headers[name] as string).length + 2;
  return size;
}
