import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import {
  checkRetention,
  type DeadLetterRetention,
  ErrorCode,
  expiredDeadLetters,
  TransportError,
} from '@switchyard/core/transport';
import { ApiCode, isApiError, wrapError } from './errors.js';
import type { Names } from './names.js';
import type { ResolvedOptions } from './options.js';

/** What a {@link NatsDeadLetterStore} needs from its transport. */
export interface NatsDeadLetterStoreParts {
  readonly service: string;
  readonly names: Names;
  readonly js: () => Promise<JetStreamClient>;
  readonly jsm: () => Promise<JetStreamManager>;
  readonly options: ResolvedOptions;
  /** Optional max age / max count of the service's records, enforced on every `add` (see {@link DeadLetterRetention}). */
  readonly retention?: DeadLetterRetention;
}

/** A record as stored: the record with its message body in base64. */
type Stored = Omit<DeadLetterRecord, 'message'> & {
  readonly message: Omit<DeadLetterRecord['message'], 'body'> & { readonly body: string };
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The durable dead letters of one service on NATS: the stream `<prefix>_dlq`
 * (file storage, limits retention without limits), one message per record on
 * the subject `<prefix>.dlq.<service>.<record id>`, its data the record as
 * JSON (body in base64).
 *
 * - `add` publishes with "expected last subject sequence 0", so a second add
 *   of the same record id is refused by the server and is a no-op: idempotent
 *   across processes and without time limit.
 * - `get` is a direct lookup by subject; `delete` removes that one message.
 * - `list` and `count` read the service's records with a short-lived
 *   ephemeral consumer and filter in memory: O(records of the service), fine
 *   for dead letters, which a person works through.
 * - Shares the transport's connection; `close` only marks the store closed
 *   (later calls reject with SY_CLOSED) and never closes the transport.
 */
export class NatsDeadLetterStore implements DeadLetterStore {
  readonly #parts: NatsDeadLetterStoreParts;
  #stream: Promise<void> | undefined;
  #closed = false;

  #enforcing: Promise<void> | undefined;
  #enforceAgain = false;

  /** Throws a ConfigurationError for an invalid retention; does no I/O. */
  constructor(parts: NatsDeadLetterStoreParts) {
    checkRetention('NatsDeadLetterStore', parts.retention);
    this.#parts = parts;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    this.#assertOpen();
    const stored: Stored = { ...record, message: { ...record.message, body: base64(record.message.body) } };
    try {
      await this.#ensureStream();
      const js = await this.#parts.js();
      await js.publish(this.#subject(record.id), encoder.encode(JSON.stringify(stored)), {
        expect: { lastSubjectSequence: 0 },
        timeout: this.#parts.options.publishAckTimeoutMs,
      });
    } catch (error) {
      if (isApiError(error, ApiCode.StreamWrongLastSequence)) return;
      throw wrapError(error, ErrorCode.SendFailed, `storing dead letter '${record.id}' failed`);
    }
    if (this.#parts.retention) await this.#enforceRetention();
  }

  /** Remove what retention says is expired; a call during a run makes that run go once more. */
  #enforceRetention(): Promise<void> {
    if (this.#enforcing) {
      this.#enforceAgain = true;
      return this.#enforcing;
    }
    this.#enforcing = (async () => {
      try {
        do {
          this.#enforceAgain = false;
          const stored = await this.#readAll();
          const doomed = new Set(
            expiredDeadLetters(
              stored.map((s) => s.record),
              this.#parts.retention,
              Date.now(),
            ),
          );
          if (doomed.size === 0) continue;
          const jsm = await this.#parts.jsm();
          for (const { record, seq } of stored) {
            if (!doomed.has(record)) continue;
            await jsm.streams.deleteMessage(this.#parts.names.deadLetterStream, seq, false).catch((error: unknown) => {
              if (!/no message found/i.test(String(error))) throw error;
            });
          }
        } while (this.#enforceAgain);
      } catch (error) {
        throw wrapError(error, ErrorCode.TransportUnavailable, 'enforcing dead-letter retention failed');
      } finally {
        this.#enforcing = undefined;
      }
    })();
    return this.#enforcing;
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    this.#assertOpen();
    return (await this.#lookup(id))?.record;
  }

  async delete(id: string): Promise<boolean> {
    this.#assertOpen();
    const found = await this.#lookup(id);
    if (!found) return false;
    try {
      const jsm = await this.#parts.jsm();
      return await jsm.streams.deleteMessage(this.#parts.names.deadLetterStream, found.seq, false);
    } catch (error) {
      if (/no message found/i.test(String(error))) return false;
      throw wrapError(error, ErrorCode.TransportUnavailable, `deleting dead letter '${id}' failed`);
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    this.#assertOpen();
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 1_000;
    return (await this.#matching(filter)).slice(offset, offset + limit);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    this.#assertOpen();
    return (await this.#matching(filter)).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async #matching(filter: DeadLetterFilter): Promise<DeadLetterRecord[]> {
    const search = filter.search?.toLowerCase();
    const since = filter.since?.getTime();
    const until = filter.until?.getTime();
    const records = (await this.#readAll())
      .map((s) => s.record)
      .filter((r) => {
        const at = Date.parse(r.deadLetteredAt);
        return (
          (filter.service === undefined || r.service === filter.service) &&
          (filter.handler === undefined || r.handler === filter.handler) &&
          (filter.messageName === undefined || r.messageName === filter.messageName) &&
          (filter.code === undefined || r.reason.code === filter.code) &&
          (search === undefined || r.reason.message.toLowerCase().includes(search)) &&
          (since === undefined || at >= since) &&
          (until === undefined || at < until)
        );
      });
    // Oldest first by dead-letter time; ties keep stream order (the order of adding).
    return records.sort((a, b) => Date.parse(a.deadLetteredAt) - Date.parse(b.deadLetteredAt));
  }

  /** Every record of the service with its stream sequence, in stream order, through an ephemeral consumer deleted afterwards. */
  async #readAll(): Promise<Array<{ record: DeadLetterRecord; seq: number }>> {
    const { names, service } = this.#parts;
    try {
      await this.#ensureStream();
      const jsm = await this.#parts.jsm();
      const info = await jsm.consumers.add(names.deadLetterStream, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        filter_subject: names.deadLetterSubjects(service),
        inactive_threshold: 60_000_000_000,
        mem_storage: true,
      });
      const records: Array<{ record: DeadLetterRecord; seq: number }> = [];
      try {
        const js = await this.#parts.js();
        const consumer = await js.consumers.get(names.deadLetterStream, info.name);
        let pending = info.num_pending;
        while (pending > 0) {
          const messages = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 5_000 });
          let got = 0;
          for await (const msg of messages) {
            got++;
            records.push({ record: parse(msg.data), seq: msg.seq });
            pending = msg.info.pending;
          }
          if (got === 0) break;
        }
      } finally {
        await jsm.consumers.delete(names.deadLetterStream, info.name).catch(() => {});
      }
      return records;
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `listing the dead letters of '${service}' failed`);
    }
  }

  async #lookup(id: string): Promise<{ record: DeadLetterRecord; seq: number } | undefined> {
    try {
      await this.#ensureStream();
      const jsm = await this.#parts.jsm();
      const stored = await jsm.streams.getMessage(this.#parts.names.deadLetterStream, {
        last_by_subj: this.#subject(id),
      });
      return stored ? { record: parse(stored.data), seq: stored.seq } : undefined;
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `reading dead letter '${id}' failed`);
    }
  }

  #subject(id: string): string {
    return this.#parts.names.deadLetterSubject(this.#parts.service, id);
  }

  #ensureStream(): Promise<void> {
    this.#stream ??= this.#createStream().catch((error: unknown) => {
      this.#stream = undefined;
      throw error;
    });
    return this.#stream;
  }

  async #createStream(): Promise<void> {
    const { names } = this.#parts;
    const jsm = await this.#parts.jsm();
    try {
      await jsm.streams.info(names.deadLetterStream);
    } catch (error) {
      if (!isApiError(error, ApiCode.StreamNotFound)) throw error;
      await jsm.streams.add({
        name: names.deadLetterStream,
        subjects: [`${names.prefix}.dlq.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_msgs_per_subject: 1,
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'nats dead-letter store is closed');
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function parse(data: Uint8Array): DeadLetterRecord {
  const stored = JSON.parse(decoder.decode(data)) as Stored;
  return {
    ...stored,
    message: { ...stored.message, body: new Uint8Array(Buffer.from(stored.message.body, 'base64')) },
  };
}
