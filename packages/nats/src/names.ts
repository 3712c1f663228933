/**
 * How Switchyard's logical names map onto JetStream: one stream per prefix,
 * one subject per channel, one subject per routing key, two durable pull
 * consumers per channel. See docs/transports/nats.md.
 */

/** Routing-key segments core allows (letters, digits, `_`, `-`, `:`): all valid NATS subject tokens. */
const ROUTING_SEGMENT = /^[A-Za-z0-9_\-:]+$/;
const PLAIN = /^[A-Za-z0-9-]$/;

/**
 * A channel name as one NATS token (subject token and consumer-name part): letters, digits and `-`
 * stay, every other character becomes `_` and its code point in hex, then `_`. Injective, so two
 * channels never share a subject.
 */
export function channelToken(channel: string): string {
  let out = '';
  for (const char of channel) out += PLAIN.test(char) ? char : `_${(char.codePointAt(0) as number).toString(16)}_`;
  return out;
}

/** The subjects, stream and consumer names of one prefix. */
export class Names {
  readonly prefix: string;
  /** The stream carrying every channel's commands and every event. */
  readonly stream: string;
  /** The stream holding the dead letters of every service. */
  readonly deadLetterStream: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.stream = prefix;
    this.deadLetterStream = `${prefix}_dlq`;
  }

  /** Subjects of the main stream. */
  get streamSubjects(): string[] {
    return [`${this.prefix}.ch.>`, `${this.prefix}.ev.>`];
  }

  /** Where messages sent to `channel` are published. Remembered per channel: every send asks. */
  channelSubject(channel: string): string {
    let subject = this.#channelSubjects.get(channel);
    if (subject === undefined) {
      subject = `${this.prefix}.ch.${channelToken(channel)}`;
      // Bounded: a process sends to a handful of channels; the cap only guards against a runaway caller.
      if (this.#channelSubjects.size >= 10_000) this.#channelSubjects.clear();
      this.#channelSubjects.set(channel, subject);
    }
    return subject;
  }

  readonly #channelSubjects = new Map<string, string>();

  /** Where an event with `routingKey` is published; throws on a key that is no valid subject. */
  eventSubject(routingKey: string): string {
    if (!routingKey.split('.').every((segment) => ROUTING_SEGMENT.test(segment))) {
      throw new RangeError(`routing key '${routingKey}' is not a dot-separated list of letters, digits, '_', '-', ':'`);
    }
    return `${this.prefix}.ev.${routingKey}`;
  }

  /** The routing key of an event subject, or undefined for a channel subject. */
  routingKeyOf(subject: string): string | undefined {
    const head = `${this.prefix}.ev.`;
    return subject.startsWith(head) ? subject.slice(head.length) : undefined;
  }

  /** Durable consumer that delivers the messages sent to `channel`. */
  commandConsumer(channel: string): string {
    return `c_${channelToken(channel)}`;
  }

  /** Durable consumer that delivers the events `channel` subscribed to. */
  eventConsumer(channel: string): string {
    return `e_${channelToken(channel)}`;
  }

  /** The filter subject of the event consumer for `patterns` (see {@link coverFilter}). */
  eventFilter(patterns: readonly string[]): string {
    return `${this.prefix}.ev.${coverFilter(patterns)}`;
  }

  /** Subject of a dead-letter record. */
  deadLetterSubject(service: string, recordId: string): string {
    return `${this.deadLetterSubjects(service).slice(0, -1)}${channelToken(recordId)}`;
  }

  /** Filter of every dead-letter record of `service`. */
  deadLetterSubjects(service: string): string {
    return `${this.prefix}.dlq.${channelToken(service)}.>`;
  }
}

/**
 * The NATS subject filters that together match exactly the routing keys of an AMQP-style `pattern`
 * (`*` one segment, `#` zero or more). NATS `>` needs at least one token, so `a.#` becomes `a` and
 * `a.>`; a `#` followed by more segments has no exact NATS form and becomes `>` from there on
 * (a superset, narrowed by core's matcher after delivery).
 */
export function natsFilters(pattern: string): string[] {
  const parts = pattern.split('.');
  const hash = parts.indexOf('#');
  if (hash === -1) return [pattern];
  if (hash === 0) return ['>'];
  const head = parts.slice(0, hash);
  return [head.join('.'), [...head, '>'].join('.')];
}

/**
 * One NATS filter subject that matches every routing key of every pattern, as narrow as one filter
 * can be: nats-server 2.9 allows a single filter subject per consumer. Equal tokens stay, differing
 * ones become `*`, differing lengths end in `>`. Where it matches more than the patterns do, the
 * consumer drops the surplus after delivery with core's matcher.
 */
export function coverFilter(patterns: readonly string[]): string {
  const filters = [...new Set(patterns.flatMap(natsFilters))].map((f) => f.split('.'));
  if (filters.length === 0) throw new RangeError('coverFilter needs at least one pattern');
  const shortest = Math.min(...filters.map((f) => f.length));
  const merged: string[] = [];
  for (let k = 0; k < shortest; k++) {
    const tokens = filters.map((f) => f[k] as string);
    if (tokens.includes('>')) return [...merged, '>'].join('.');
    merged.push(tokens.every((t) => t === tokens[0]) ? (tokens[0] as string) : '*');
  }
  if (filters.every((f) => f.length === shortest)) return merged.join('.');
  // Some filters are longer: the last common position must match one or more tokens.
  return [...merged.slice(0, shortest - 1), '>'].join('.');
}
