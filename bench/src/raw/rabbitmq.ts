import { randomUUID } from 'node:crypto';
import amqp, { type ConsumeMessage, type Options } from 'amqplib';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

/** Options of both halves of the raw RabbitMQ baseline. */
export interface RawRabbitOptions {
  readonly url: string;
  /** A fresh durable queue per run; the consumer declares it and deletes it when stopped. */
  readonly queue: string;
  readonly prefetch: number;
  /**
   * What goes on the wire (default `binary`):
   * - `binary`: the framework's attributes as the transport writes them in binary mode (header table and properties);
   * - `structured`: as the transport does with `contentMode: 'structured'`: the attributes and the payload in one
   *   `application/cloudevents+json` body, no header table;
   * - `bare`: the JSON payload alone, persistent, no properties, no table, not mandatory (what NestJS and
   *   golevelup send): the floor a client that carries no message identity can reach;
   * - `table`: the bare payload with binary mode's `ce-*` header table and nothing else (no properties, not
   *   mandatory): what the table alone costs, next to `bare` and `binary`.
   */
  readonly wire?: RawWire;
}

/** The raw baseline's wire forms (see {@link RawRabbitOptions.wire}). */
export type RawWire = 'binary' | 'structured' | 'bare' | 'table';

/**
 * The raw baseline's consumer: plain amqplib on its own connection, one
 * channel with `basic.qos(prefetch)`, manual acks, each message read as any
 * consumer reads it (headers and JSON body, `readRawMessage`) before its ack.
 * Declares the durable classic queue the producer sends to; `stop` deletes it.
 */
export async function startRawRabbitConsumer(
  options: RawRabbitOptions,
  onHandled: OnHandled,
): Promise<RunningConsumer> {
  const connection = await amqp.connect(options.url, { noDelay: true }); // as the transport connects
  const channel = await connection.createChannel();
  await channel.assertQueue(options.queue, { durable: true });
  await channel.prefetch(options.prefetch);
  await channel.consume(
    options.queue,
    (message: ConsumeMessage | null) => {
      if (message === null) return;
      const payload = readRaw(message) as { sentAt: number };
      channel.ack(message);
      onHandled(payload.sentAt);
    },
    { noAck: false },
  );
  return {
    async stop() {
      await channel.deleteQueue(options.queue).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

/**
 * The raw baseline's producer: plain amqplib on its own connection, one
 * ConfirmChannel; each `send` publishes one persistent message through the
 * default exchange with the framework's properties and headers (message id,
 * content type, timestamp, `ce-*` headers of a command, `mandatory`; or the
 * structured document, the bare payload, or the bare payload with the `ce-*`
 * table, as `wire` says) and resolves at
 * its publisher confirm, honouring the channel's write backpressure — what
 * the transport does per message.
 */
export async function rawRabbitProducer(options: RawRabbitOptions): Promise<BenchProducer> {
  const connection = await amqp.connect(options.url, { noDelay: true }); // as the transport connects
  const channel = await connection.createConfirmChannel();
  const wire = options.wire ?? 'binary';
  let drained: Promise<void> | undefined;
  return {
    send(seq) {
      const payload = JSON.stringify(benchPayload(seq));
      const [body, properties] =
        wire === 'bare' || wire === 'table' ? withoutProperties(wire, payload) : identified(wire, payload);
      return new Promise<void>((resolve, reject) => {
        const writable = channel.publish('', options.queue, Buffer.from(body), properties, (error: unknown) =>
          error ? reject(error as Error) : resolve(),
        );
        if (!writable)
          drained ??= new Promise<void>((done) => channel.once('drain', done)).finally(() => (drained = undefined));
      }).then(() => drained);
    },
    async stop() {
      await connection.close().catch(() => undefined);
    },
  };
}

/** Body and properties of a message that carries the framework's identity (a fresh id per message), in `wire` form. */
function identified(wire: 'binary' | 'structured', payload: string): [string, Options.Publish] {
  const id = randomUUID();
  const structured = wire === 'structured';
  return [
    structured ? structuredDocument(id, payload) : payload,
    {
      persistent: true,
      mandatory: true,
      messageId: id,
      contentType: structured ? STRUCTURED : 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      // Structured: no header table, as the transport sends none without sy- headers.
      ...(structured ? {} : { headers: amqpHeaders(id) }),
    },
  ];
}

/** Body and properties of a message in `bare` form, or in `table` form (a fresh id in its table). */
function withoutProperties(wire: 'bare' | 'table', payload: string): [string, Options.Publish] {
  return [payload, wire === 'bare' ? { persistent: true } : { persistent: true, headers: amqpHeaders(randomUUID()) }];
}

/** A delivery read as any consumer reads it, whatever form it came in. */
function readRaw(message: ConsumeMessage): unknown {
  const text = message.content.toString();
  if (message.properties.contentType === STRUCTURED) return readStructured(text);
  const table: Readonly<Record<string, unknown>> = message.properties.headers ?? {};
  // Bare: the payload alone, as NestJS or golevelup would parse it (amqplib sends an empty table).
  if (message.properties.contentType === undefined && table['ce-id'] === undefined) return JSON.parse(text);
  return readRawMessage(table, text);
}

/**
 * The framework's headers as the transport writes them in binary mode:
 * `content-type` travels as the AMQP property, and the attributes that hold
 * their default (kind `command` next to a target service, correlation id =
 * id, attempt 1) stay out of the table (see the transport's wire.ts).
 */
function amqpHeaders(id: string): Record<string, string> {
  const {
    'content-type': _contentType,
    'ce-kind': _kind,
    'ce-correlationid': _correlationId,
    'ce-attempt': _attempt,
    ...headers
  } = benchHeaders(id);
  return headers;
}

const STRUCTURED = 'application/cloudevents+json';

/** The framework's attributes and `payload` (JSON text) as one structured-mode document, as the transport writes it. */
function structuredDocument(id: string, payload: string): string {
  const event: Record<string, string> = { datacontenttype: 'application/json' };
  for (const [name, value] of Object.entries(benchHeaders(id)))
    if (name !== 'content-type') event[name.slice('ce-'.length)] = value;
  return `${JSON.stringify(event).slice(0, -1)},"data":${payload}}`;
}

/** A structured-mode message read as any consumer reads it: the document parsed, its `id` checked, `data` returned. */
function readStructured(body: string): unknown {
  const event = JSON.parse(body) as Record<string, unknown>;
  if (typeof event.id !== 'string') throw new Error('raw baseline: a structured message without id');
  return event.data;
}
