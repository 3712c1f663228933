import { BATCH_CONTENT_TYPE, Header, STRUCTURED_CONTENT_TYPE, utf8 } from '../message/codec.js';
import { safeParseJson } from '../message/safe-json.js';
import type { Delivery, DeliveryHandler, NackOptions, TransportMessage } from '../transport/types.js';

/**
 * CloudEvents batch mode (`application/cloudevents-batch+json`: a JSON array
 * of structured events in one broker message). `splitBatches(handle)` wraps
 * a delivery handler: a batch delivery becomes one delivery per event, each
 * a structured-mode message, handled one after the other by `handle`; the
 * broker message is acked once every event's delivery was acked, and nacked
 * (once, with the first nack's options) as soon as one is nacked, so it comes
 * back whole and the inbox suppresses the events already handled. An event's
 * id is its own `id`, or `<message id>#<index>` when it has none. Any other
 * delivery, and a batch body that is not a JSON array (left to the decoder
 * to dead-letter), passes through unchanged.
 */
export function splitBatches(handle: DeliveryHandler): DeliveryHandler {
  // Not an async function: nearly every delivery is no batch, and an async wrapper cost it a promise and a
  // microtask of its own. A synchronous throw still becomes a rejection, as it would from an async function.
  return (delivery) => {
    let events: unknown[] | undefined;
    try {
      events = batchOf(delivery.message);
      if (events === undefined) return handle(delivery);
    } catch (error) {
      return Promise.reject(error);
    }
    return handleBatch(handle, delivery, events);
  };
}

async function handleBatch(handle: DeliveryHandler, delivery: Delivery, events: unknown[]): Promise<void> {
  if (events.length === 0) return delivery.ack();
  let remaining = events.length;
  let nacked = false;
  const ack = async (): Promise<void> => {
    if (!nacked && --remaining === 0) await delivery.ack();
  };
  const nack = async (options?: NackOptions): Promise<void> => {
    if (nacked) return;
    nacked = true;
    await delivery.nack(options);
  };
  for (const [index, event] of events.entries()) {
    const part = eventMessage(delivery.message, event, index);
    let settled = false;
    const once =
      (settle: (options?: NackOptions) => Promise<void>) =>
      (options?: NackOptions): Promise<void> => {
        if (settled) return Promise.resolve();
        settled = true;
        return settle(options);
      };
    const single: Delivery = {
      message: part,
      channel: delivery.channel,
      deliveryCount: delivery.deliveryCount,
      ack: once(ack),
      nack: once(nack),
    };
    await handle(single);
    if (nacked) return;
  }
}

/** The events of a batch message, or undefined when it is no batch (or not a JSON array). */
function batchOf(message: TransportMessage): unknown[] | undefined {
  if (message.headers[Header.contentType]?.startsWith(BATCH_CONTENT_TYPE) !== true) return undefined;
  try {
    const parsed = safeParseJson(utf8(message.body));
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

function eventMessage(batch: TransportMessage, event: unknown, index: number): TransportMessage {
  const own = event !== null && typeof event === 'object' ? (event as { id?: unknown }).id : undefined;
  const id = typeof own === 'string' && own.length > 0 ? own : `${batch.id}#${index}`;
  return {
    id,
    headers: { [Header.contentType]: STRUCTURED_CONTENT_TYPE },
    body: encoder.encode(JSON.stringify(event)),
  };
}
