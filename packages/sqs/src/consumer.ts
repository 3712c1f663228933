import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  ConcurrencyGate,
  type Delivery,
  type DeliveryHandler,
  ErrorCode,
  type Subscription,
  settleOnce,
  type TransportMessage,
  withTimeout,
} from '@switchyard/core/transport';
import { isAbort, wrapError } from './errors.js';
import type { ResolvedSqsOptions } from './options.js';
import { delaySecondsFor, type Producer } from './producer.js';
import type { QueueRef } from './queue-directory.js';
import { ReceiptBatcher } from './receipt-batcher.js';
import { Attr, fromWire, plainAttributes, sdkAttributes, unwrapSnsEnvelope, type WireMessage } from './wire.js';

/** What a consumer needs from its transport. */
export interface ConsumerDeps {
  readonly sqs: SQSClient;
  readonly producer: Producer;
  readonly options: ResolvedSqsOptions;
  readonly queue: QueueRef;
  readonly handler: DeliveryHandler;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly onError: (error: Error) => void;
  /**
   * A queue Switchyard does not own: a body that is no CloudEvent (no
   * `specversion`) reaches core as it is, with the SQS message id, instead of
   * being read as a structured document.
   */
  readonly foreign?: boolean;
}

/** The longest visibility timeout SQS accepts (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;

interface Tracked {
  readonly receipt: string;
  readonly heartbeat: NodeJS.Timeout;
}

/**
 * One long-polling consumer of one queue.
 *
 * - Fetches at most `prefetch` unsettled messages (batches of up to 10,
 *   with `receivers` ReceiveMessage calls in flight at once). Settles
 *   (deletes, visibility changes) that SQS has not answered yet are bounded
 *   by `prefetch` too: while that many are outstanding, receiving waits, so
 *   a slow DeleteMessageBatch slows the consumer down instead of letting
 *   pending deletes pile up. At most `2 × prefetch` messages are thus held
 *   invisible by the consumer at once.
 * - Runs at most `concurrency` handlers at once. A handler's slot is taken
 *   until it settles its delivery (the delete or visibility change is then
 *   handed to the receipt batcher) or returns, whichever comes first, not
 *   until SQS answers the delete: the next message's handler may run while
 *   the previous delete is in flight. Core settles a delivery only after its
 *   handler finished, so the delete still always follows the handling; a
 *   failed delete rejects the ack as before. In FIFO mode messages of one
 *   message group are handled one after the other, in order (the next one
 *   starts once the previous one's settle was answered).
 * - While a message is unsettled, a heartbeat extends its visibility timeout
 *   every third of it, so a slow handler never sees its message redelivered.
 * - A message whose `sy-due` time has not come yet (a delay over 15 minutes,
 *   or an event published through SNS with a delay) is re-sent to the queue
 *   with the next DelaySeconds and deleted, without reaching the handler.
 * - close(): stops polling (after the long poll in progress, bounded), waits
 *   for running handlers (and the deletes they await) up to the drain bound,
 *   then makes every unsettled message visible again at once. Idempotent.
 */
export class SqsConsumer implements Subscription {
  readonly #deps: ConsumerDeps;
  readonly #batcher: ReceiptBatcher;
  readonly #gate: ConcurrencyGate;
  readonly #unsettled = new Map<string, Tracked>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #groups = new Map<string, Promise<void>>();
  readonly #receiveAbort = new AbortController();
  #roomWaiters: Array<() => void> = [];
  /** Messages the ReceiveMessage calls in flight may still bring (their MaxNumberOfMessages). */
  #requested = 0;
  /** Deletes and visibility changes handed to the batcher and not answered yet (at most `prefetch` before receiving waits). */
  #settling = 0;
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(deps: ConsumerDeps) {
    this.#deps = deps;
    this.#batcher = new ReceiptBatcher(deps.sqs, deps.queue.url);
    this.#gate = new ConcurrencyGate(deps.concurrency);
  }

  /** Start the poll loops. Call once. */
  start(): void {
    const { options, prefetch } = this.#deps;
    const loops = options.receivers ?? Math.min(10, Math.ceil(prefetch / 10));
    this.#loop = Promise.all(Array.from({ length: loops }, () => this.#run())).then(() => undefined);
  }

  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#close(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #run(): Promise<void> {
    const { sqs, queue, options } = this.#deps;
    let backoffMs = 0;
    while (!this.#stopping) {
      const { prefetch } = this.#deps;
      const room = Math.min(prefetch - this.#unsettled.size - this.#requested, prefetch - this.#settling);
      if (room <= 0) {
        await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
        continue;
      }
      const asked = Math.min(10, room);
      this.#requested += asked;
      let messages: Message[] | undefined;
      let failure: unknown;
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: asked,
            WaitTimeSeconds: options.waitTimeSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
          }),
          { abortSignal: this.#receiveAbort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        failure = error;
      }
      this.#requested -= asked;
      // Room this call reserved and did not fill is free again for the other loops.
      if ((messages?.length ?? 0) < asked) this.#wakeReceivers();
      if (messages === undefined) {
        if (this.#stopping && isAbort(failure)) break;
        this.#deps.onError(wrapError(ErrorCode.TransportUnavailable, `receive from queue '${queue.name}'`, failure));
        backoffMs = Math.min(5_000, backoffMs === 0 ? 100 : backoffMs * 2);
        await this.#pause(backoffMs);
        continue;
      }
      backoffMs = 0;
      for (const message of messages) this.#accept(message);
    }
  }

  #accept(raw: Message): void {
    const receipt = raw.ReceiptHandle;
    if (receipt === undefined) return;
    const vt = this.#deps.options.visibilityTimeoutSeconds;
    const heartbeat = setInterval(
      () => {
        this.#batcher.changeVisibility(receipt, vt).catch((error: Error) => this.#deps.onError(error));
      },
      (vt * 1000) / 3,
    );
    heartbeat.unref();
    this.#unsettled.set(receipt, { receipt, heartbeat });
    if (this.#stopping) {
      void this.#release(receipt);
      return;
    }
    const wire = unwrapSnsEnvelope(raw.Body ?? '', plainAttributes(raw.MessageAttributes));
    const due = Number(wire.attributes[Attr.due]);
    if (!this.#deps.options.fifo && Number.isFinite(due) && due > Date.now()) {
      this.#track(this.#redelay(receipt, wire, due));
      return;
    }
    const run = () => this.#handle(raw, receipt, wire);
    const group = raw.Attributes?.MessageGroupId;
    if (!this.#deps.options.fifo || group === undefined) {
      this.#track(run());
      return;
    }
    const next = (this.#groups.get(group) ?? Promise.resolve()).then(run);
    this.#groups.set(group, next);
    this.#track(
      next.finally(() => {
        if (this.#groups.get(group) === next) this.#groups.delete(group);
      }),
    );
  }

  /** `freeSlot` gives the handler slot back; the delivery calls it once its settle was handed to the batcher. */
  #delivery(raw: Message, receipt: string, wire: WireMessage, freeSlot: () => void): Delivery {
    let message: TransportMessage;
    try {
      message = fromWire(wire.body, wire.attributes);
      if (this.#deps.foreign === true && message.headers['ce-specversion'] === undefined)
        throw new Error('not a CloudEvent');
    } catch {
      // Not a Switchyard message: hand the raw bytes to core, whose decoder
      // rejects them as poison and dead-letters them with the reason.
      // A content type the producer gave as an attribute travels along (a CloudEvents batch is read by it).
      const contentType = wire.attributes['content-type'];
      const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
      message = { id: raw.MessageId ?? receipt, headers, body: new TextEncoder().encode(wire.body) };
    }
    const count = Number(raw.Attributes?.ApproximateReceiveCount ?? '1');
    const settle = settleOnce(
      () => {
        const deleted = this.#settle(receipt, () => this.#batcher.delete(receipt));
        freeSlot();
        return deleted;
      },
      (options) => {
        const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(Math.max(0, options?.delayMs ?? 0) / 1000));
        const changed = this.#settle(receipt, () => this.#batcher.changeVisibility(receipt, seconds));
        freeSlot();
        return changed;
      },
    );
    return {
      message,
      channel: this.#deps.queue.channel,
      deliveryCount: Number.isInteger(count) && count > 0 ? count : 1,
      ack: settle.ack,
      nack: settle.nack,
    };
  }

  /**
   * Run the handler in a slot of the gate. The slot is given back as soon as
   * the delivery's settle is handed to the batcher (or the handler returned);
   * this resolves only once the handler returned, i.e. after core awaited the
   * delete, so close() still waits for it.
   */
  async #handle(raw: Message, receipt: string, wire: WireMessage): Promise<void> {
    await this.#gate.acquire();
    let held = true;
    const freeSlot = () => {
      if (!held) return;
      held = false;
      this.#gate.release();
    };
    try {
      if (this.#stopping) {
        await this.#release(receipt);
        return;
      }
      const delivery = this.#delivery(raw, receipt, wire, freeSlot);
      try {
        await this.#deps.handler(delivery);
      } catch {
        await delivery.nack().catch((error: Error) => this.#deps.onError(error));
      }
    } finally {
      freeSlot();
    }
  }

  /**
   * Hand a delete or visibility change of `receipt` to the batcher: its
   * heartbeat stops and its prefetch room is free; it counts as outstanding
   * (see {@link SqsConsumer}) until SQS answered.
   */
  #settle(receipt: string, send: () => Promise<void>): Promise<void> {
    this.#untrack(receipt);
    this.#settling++;
    const answered = send();
    answered.then(this.#answered, this.#answered);
    return answered;
  }

  readonly #answered = (): void => {
    this.#settling--;
    this.#wakeReceivers();
  };

  /** Re-send a message that is not due yet with the next delay, then delete this copy. */
  async #redelay(receipt: string, wire: WireMessage, due: number): Promise<void> {
    const { producer, queue } = this.#deps;
    try {
      const entry = {
        Id: 'e0',
        MessageBody: wire.body,
        MessageAttributes: sdkAttributes(wire.attributes),
        DelaySeconds: delaySecondsFor(due, Date.now(), this.#deps.options.maxNativeDelaySeconds),
      };
      await producer.sendWire(queue.url, queue.name, [{ id: 'delayed', bytes: Buffer.byteLength(wire.body), entry }]);
      await this.#settle(receipt, () => this.#batcher.delete(receipt));
    } catch (error) {
      // Left unsettled: the heartbeat stops and the message comes back after its visibility timeout.
      this.#untrack(receipt);
      this.#deps.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.catch(() => undefined).finally(() => this.#tasks.delete(task));
  }

  #untrack(receipt: string): void {
    const tracked = this.#unsettled.get(receipt);
    if (tracked === undefined) return;
    clearInterval(tracked.heartbeat);
    this.#unsettled.delete(receipt);
    this.#wakeReceivers();
  }

  #wakeReceivers(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  async #release(receipt: string): Promise<void> {
    this.#untrack(receipt);
    await this.#batcher.changeVisibility(receipt, 0).catch((error: Error) => this.#deps.onError(error));
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#roomWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#wakeReceivers();
    const deadline = Date.now() + drainTimeoutMs;
    // Let the long poll in progress finish, so that nothing it receives is
    // stranded invisible; abort it only when the drain bound runs out.
    if (!(await within(this.#loop, Math.max(0, deadline - Date.now())))) this.#receiveAbort.abort();
    await this.#loop;
    await within(Promise.allSettled([...this.#tasks]), Math.max(0, deadline - Date.now()));
    await Promise.all([...this.#unsettled.keys()].map((receipt) => this.#release(receipt)));
  }
}

/** True when `promise` settled (either way) within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  return withTimeout(settled, ms, 'the consumer to settle').then(
    () => true,
    () => false,
  );
}
