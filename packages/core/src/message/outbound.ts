import type { TransportMessage } from '../transport/types.js';

/**
 * Where an outbound message goes: the channel of a named service (`send`:
 * commands, plain messages, retries, replays, asynchronous handlers), or the
 * event fan-out (`publish`) under a routing key. The service map turns it into
 * a transport and a channel.
 */
export type Destination =
  | { readonly kind: 'send'; readonly service: string }
  | { readonly kind: 'publish'; readonly routingKey: string };

/** An encoded message with its destination, ready for the dispatcher to route through the service map. */
export interface OutboundMessage {
  readonly destination: Destination;
  readonly message: TransportMessage;
}
