import {
  type EndpointMessage,
  ErrorCode,
  type RoutedMessage,
  TransportError,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { ConsumeMessage, Options } from 'amqplib';
import { ConfirmPublisher, type Outgoing } from './confirm-publisher.js';
import type { ConnectionManager } from './connection-manager.js';
import { DelayQueues, type DelayRoute, declareExchanges, delayBucket } from './delay.js';
import { ReplyCode, replyCode, sendError } from './ops-channel.js';
import type { ResolvedOptions } from './options.js';
import type { TopologyManager } from './topology.js';
import { InternalHeader, rawPublishOptions, toAmqp, toBuffer } from './wire.js';

/**
 * The transport's outgoing path: turns Switchyard messages into AMQP
 * publishes on one {@link ConfirmPublisher} and resolves after the broker
 * confirmed them.
 *
 * - Commands go through the default exchange to the channel's queue (declared
 *   first if this process has not seen it, cached), events to the topic
 *   exchange; a `deliverAt` in the future routes through {@link DelayQueues}.
 * - A mandatory message that comes back unroutable (its queue or delay queue
 *   vanished) is declared again and published once more; a second return
 *   rejects with `SY_SEND_FAILED`. It is never dropped silently.
 * - Errors reject as `TransportError`s (see `sendError`); nothing throws
 *   synchronously for a broker fault.
 *
 * Channel names are checked and the transport's open state asserted by the
 * caller; this class counts no in-flight sends either. Not idempotent: every
 * call publishes. `close` closes the confirm channel only.
 *
 * Hot path, tuned for CPU per message: no promise, closure or await per
 * message, and the common case (a known queue, nothing delayed) awaits no
 * declaration at all.
 */
export class RabbitSender {
  readonly #options: ResolvedOptions;
  readonly #topology: TopologyManager;
  readonly #publisher: ConfirmPublisher;
  readonly #delays: DelayQueues;

  /** Construction does no I/O; `topology` is shared with the transport's provisioning and consumers. */
  constructor(connection: ConnectionManager, topology: TopologyManager, options: ResolvedOptions) {
    this.#options = options;
    this.#topology = topology;
    this.#publisher = new ConfirmPublisher(connection, options.sendTimeoutMs, async (fault) => {
      // Someone deleted an exchange of ours: declare both again (only a new connection would otherwise).
      if (replyCode(fault) !== ReplyCode.notFound) return false;
      const live = await connection.get(options.operationTimeoutMs);
      await declareExchanges(live.model, options.exchange);
      return true;
    });
    this.#delays = new DelayQueues(connection, options.exchange, options.operationTimeoutMs);
  }

  /** Send commands to the queue of `channel` (`Transport.send`); `messages` must not be empty. */
  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    try {
      if (!this.#topology.isEnsured(channel)) await this.#topology.ensureQueue(channel);
      const now = Date.now();
      const items: Outgoing[] = new Array(messages.length);
      let delayed: Array<Promise<void>> | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as TransportMessage;
        const delayMs = message.deliverAt === undefined ? 0 : message.deliverAt - now;
        if (delayMs > 0) {
          delayed ??= [];
          items[i] = this.#delayed(message, 'direct', channel, delayMs, delayed);
        } else {
          const { body, options } = this.#toAmqp(message, true);
          items[i] = { exchange: '', routingKey: channel, body, options };
        }
      }
      if (delayed) await Promise.all(delayed);
      await this.#publishAll(items, channel);
    } catch (error) {
      throw sendError(error);
    }
  }

  /** Publish events to the topic exchange (`Transport.publish`); `messages` must not be empty. */
  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    try {
      const now = Date.now();
      const exchange = this.#options.exchange;
      const items: Outgoing[] = new Array(messages.length);
      let delayed: Array<Promise<void>> | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as RoutedMessage;
        const delayMs = message.deliverAt === undefined ? 0 : message.deliverAt - now;
        if (delayMs > 0) {
          delayed ??= [];
          items[i] = this.#delayed(message, 'event', message.routingKey, delayMs, delayed);
        } else {
          // Not mandatory: an event no channel subscribed to goes to zero subscribers, as designed.
          const { body, options } = this.#toAmqp(message, false);
          items[i] = { exchange, routingKey: message.routingKey, body, options };
        }
      }
      if (delayed) await Promise.all(delayed);
      await this.#publishAll(items, undefined);
    } catch (error) {
      throw sendError(error);
    }
  }

  /**
   * Publish raw messages to `endpoint`, an exchange the caller checked exists
   * (`Transport.sendEndpoint`); `messages` must not be empty. A mandatory message
   * that no queue took is not published again: the call rejects with
   * `SY_SEND_FAILED` naming the routing keys.
   */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    const items: Outgoing[] = messages.map((message) => ({
      exchange: endpoint,
      routingKey: message.routingKey ?? '',
      body: toBuffer(message.body),
      options: rawPublishOptions(message),
    }));
    let returned: Outgoing[];
    try {
      returned = await this.#publisher.publish(items);
    } catch (error) {
      throw sendError(error);
    }
    // Only `mandatory` messages come back: the caller asked to hear that no queue took them.
    if (returned.length === 0) return;
    const keys = [...new Set(returned.map((item) => item.routingKey))].join(', ');
    throw new TransportError(
      ErrorCode.SendFailed,
      `RabbitMQ returned ${returned.length} message(s): no queue is bound to exchange '${endpoint}' for ${keys}`,
    );
  }

  /**
   * Put a consumed message back on `queue` after `delayMs`, through a delay
   * queue, with its `x-` headers dropped and `deliveryCount` recorded (the
   * `Redelayer` of `nack({ delayMs })`). Resolves once confirmed.
   */
  async redelay(queue: string, message: ConsumeMessage, deliveryCount: number, delayMs: number): Promise<void> {
    const bucket = delayBucket(delayMs);
    await this.#delays.ensure('direct', bucket);
    const headers: Record<string, unknown> = {};
    const original = message.properties.headers ?? {};
    // x-death and friends would grow with every round through a delay queue.
    for (const name in original) if (!name.startsWith('x-')) headers[name] = original[name];
    Object.assign(headers, this.#delays.headers('direct', bucket), { [InternalHeader.deliveries]: deliveryCount });
    const { contentType, messageId, timestamp } = message.properties;
    const options = { persistent: true, mandatory: true, contentType, messageId, timestamp, headers };
    await this.#publishAll(
      [{ exchange: this.#delays.exchange, routingKey: queue, body: message.content, options }],
      undefined,
    );
  }

  /** Close the confirm channel (see `ConfirmPublisher.close`); the transport first lets running sends finish. */
  close(): Promise<void> {
    return this.#publisher.close();
  }

  #delayed(
    message: TransportMessage,
    route: DelayRoute,
    routingKey: string,
    delayMs: number,
    declarations: Array<Promise<void>>,
  ): Outgoing {
    const bucket = delayBucket(delayMs);
    declarations.push(this.#delays.ensure(route, bucket));
    return {
      exchange: this.#delays.exchange,
      routingKey,
      ...this.#toAmqp(message, true, this.#delays.headers(route, bucket)),
    };
  }

  #toAmqp(
    message: TransportMessage,
    mandatory: boolean,
    extraHeaders?: Readonly<Record<string, string | number>>,
  ): { body: Buffer; options: Options.Publish } {
    return toAmqp(message, mandatory, extraHeaders, this.#options.wire, this.#options.contentMode);
  }

  /**
   * Publish; a mandatory message that came back unroutable (its queue vanished) is declared again and sent once more.
   * `channel` names the queue whose cached declaration to forget then (a channel name, not a closure: one fewer
   * allocation per send).
   */
  async #publishAll(items: readonly Outgoing[], channel: string | undefined): Promise<void> {
    const returned = await this.#publisher.publish(items);
    if (returned.length === 0) return;
    if (channel !== undefined) this.#topology.forget(channel);
    this.#delays.forgetAll();
    await Promise.all(returned.map((item) => this.#prepareAgain(item)));
    const again = await this.#publisher.publish(returned);
    if (again.length > 0) {
      throw new TransportError(ErrorCode.SendFailed, `RabbitMQ returned ${again.length} message(s) as unroutable`);
    }
  }

  #prepareAgain(item: Outgoing): Promise<void> {
    const headers = item.options.headers as Record<string, unknown> | undefined;
    const bucket = Number(headers?.[InternalHeader.delay]);
    if (item.exchange === this.#delays.exchange && Number.isFinite(bucket)) {
      return this.#delays.ensure(headers?.[InternalHeader.route] === 'event' ? 'event' : 'direct', bucket);
    }
    return this.#topology.ensureQueue(item.routingKey);
  }
}
