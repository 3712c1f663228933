import {
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  type EndpointMessage,
  ErrorCode,
  type Subscription,
  type Transport,
  TransportError,
  toCoreHeaders,
} from '@switchyard/core/transport';
import type pg from 'pg';
import { quoteSchema } from './migrations.js';

/** What {@link PostgresEndpoints} needs from its transport. */
export interface PostgresEndpointsParts {
  /** The transport's own schema, and the transport itself (an endpoint in it needs no second pool). */
  readonly schema: string;
  readonly own: Transport;
  /** The transport's pool, its schema migrated. */
  readonly pool: () => Promise<pg.Pool>;
  /** A transport like the owner, on another schema (its own pool and LISTEN connection). */
  readonly open: (schema: string) => Transport;
}

/**
 * Foreign endpoints on PostgreSQL: `<schema>.<channel>`, a channel of a
 * Switchyard message table (`<schema>.sy_messages`) that this transport does
 * not own — another deployment's schema, which other programs write to with a
 * plain `INSERT` (docs/transports/postgres.md, "Foreign endpoints") — or a
 * channel of the transport's own schema that no service owns. The schema must
 * exist: a missing `<schema>.sy_messages` rejects with `SY_CONFIGURATION` and
 * nothing is created. Consuming and sending run the transport's own code on
 * that schema (claims under a lease, ack deletes the row, nack makes it
 * claimable again; inserts committed before `send` resolves), through one
 * transport per schema, opened on first use and closed by {@link close}.
 * Delivered headers are in core's form whichever CloudEvents binding named
 * them (`ce_`, `cloudEvents_`, `cloudEvents:` become `ce-`).
 */
export class PostgresEndpoints {
  readonly #parts: PostgresEndpointsParts;
  readonly #transports = new Map<string, Promise<Transport>>();

  constructor(parts: PostgresEndpointsParts) {
    this.#parts = parts;
  }

  async consume(endpoint: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    const { schema, channel } = parseEndpoint(endpoint);
    const transport = await this.#transport(schema);
    return transport.consume(channel, (delivery) => handler(asEndpoint(delivery, endpoint)), options);
  }

  async send(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    const { schema, channel } = parseEndpoint(endpoint);
    const transport = await this.#transport(schema);
    await transport.send(channel, messages);
  }

  /** Close the transports opened for other schemas. Idempotent. */
  async close(): Promise<void> {
    const opened = [...this.#transports.values()];
    this.#transports.clear();
    await Promise.allSettled(opened.map(async (transport) => (await transport).close()));
  }

  #transport(schema: string): Promise<Transport> {
    if (schema === this.#parts.schema) return Promise.resolve(this.#parts.own);
    let transport = this.#transports.get(schema);
    if (!transport) {
      transport = this.#openChecked(schema).catch((error: unknown) => {
        this.#transports.delete(schema);
        throw error;
      });
      this.#transports.set(schema, transport);
    }
    return transport;
  }

  async #openChecked(schema: string): Promise<Transport> {
    const pool = await this.#parts.pool();
    const { rows } = await pool.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [
      `${quoteSchema(schema)}.sy_messages`,
    ]);
    if (!rows[0]?.table) {
      throw new TransportError(
        ErrorCode.Configuration,
        `PostgreSQL endpoint schema '${schema}' has no Switchyard message table (sy_messages); it is never created for an endpoint`,
      );
    }
    return this.#parts.open(schema);
  }
}

/** `<schema>.<channel>`: split at the first dot; the schema a plain identifier, the channel non-empty. */
function parseEndpoint(endpoint: string): { schema: string; channel: string } {
  const dot = endpoint.indexOf('.');
  const schema = dot === -1 ? '' : endpoint.slice(0, dot);
  const channel = endpoint.slice(dot + 1);
  if (dot <= 0 || channel.length === 0) {
    throw new TransportError(
      ErrorCode.Configuration,
      `PostgreSQL endpoint '${endpoint}' must be '<schema>.<channel>', e.g. 'legacy.orders'`,
    );
  }
  try {
    quoteSchema(schema);
  } catch (error) {
    throw new TransportError(ErrorCode.Configuration, `PostgreSQL endpoint '${endpoint}': ${String(error)}`, {
      cause: error,
    });
  }
  return { schema, channel };
}

/** The delivery as the endpoint's: its channel the endpoint, binding-form headers in core's form. */
function asEndpoint(delivery: Delivery, endpoint: string): Delivery {
  const headers = toCoreHeaders(delivery.message.headers);
  return {
    message: headers === delivery.message.headers ? delivery.message : { ...delivery.message, headers },
    channel: endpoint,
    deliveryCount: delivery.deliveryCount,
    ack: () => delivery.ack(),
    nack: (options) => delivery.nack(options),
  };
}
