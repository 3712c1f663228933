/** Small builders for the receive stages' direct tests (runtime/stages/*.test.ts). */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { OutgoingMessages } from '../src/bus/outgoing.js';
import { type HandlerRegistration, HandlerRegistry } from '../src/handlers/registry.js';
import type { Handler, HandlerOptions } from '../src/handlers/types.js';
import { decode } from '../src/message/codec.js';
import type { MessageKind } from '../src/message/envelope.js';
import { InMemoryDeadLetterStore, InMemoryInboxStore } from '../src/resilience/memory-stores.js';
import { resolveRetryPolicy } from '../src/resilience/retry-policy.js';
import type { ReceiverParts } from '../src/runtime/receiver.js';
import {
  type DeliveryRun,
  type HandlerRun,
  handlerRun,
  deliveryRun as startRun,
} from '../src/runtime/stages/pipeline.js';
import type { Delivery, TransportCapabilities, TransportMessage } from '../src/transport/types.js';
import type { Clock } from '../src/util/clock.js';
import type { Logger } from '../src/util/logger.js';
import { Observers, type ServiceEvents } from '../src/util/observers.js';

/** A clock standing still at `now`, whose scheduled callbacks run when `advance` passes them. */
export function fixedClock(now = Date.parse('2026-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let time = now;
  const timers: Array<{ at: number; run: () => void }> = [];
  return {
    now: () => time,
    schedule(ms, callback) {
      const timer = { at: time + ms, run: callback };
      timers.push(timer);
      return () => timers.splice(timers.indexOf(timer), 1);
    },
    advance(ms) {
      time += ms;
      for (const timer of timers.filter((t) => t.at <= time)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.run();
      }
    },
  };
}

/** An encoded message as another service would send it. */
export function message(
  spec: { kind?: MessageKind; name?: string; payload?: unknown; target?: string; endpoint?: string } = {},
): TransportMessage {
  const outgoing = new OutgoingMessages('sender', fixedClock());
  return outgoing.buildValidated({
    kind: spec.kind ?? 'command',
    name: spec.name ?? 'test.ping',
    payload: spec.payload ?? { n: 1 },
    ...(spec.kind === 'event' ? {} : { targetService: spec.target ?? 'svc' }),
    ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
  }).message;
}

/** A delivery that records how it was settled. */
export function delivery(of: TransportMessage = message(), deliveryCount = 1): Delivery & { settled: string[] } {
  const settled: string[] = [];
  return {
    message: of,
    channel: 'svc',
    deliveryCount,
    settled,
    ack: async () => void settled.push('ack'),
    nack: async () => void settled.push('nack'),
  };
}

/** A fresh delivery run, as the receiver starts it. */
export function deliveryRun(of: Delivery = delivery()): DeliveryRun {
  return startRun(of);
}

/** A registry with one distributed handler of `name` (and optional schema). */
export function registration(
  invoke: Handler = () => undefined,
  options: HandlerOptions & { name?: string; schema?: StandardSchemaV1 } = {},
): { registry: HandlerRegistry; handler: HandlerRegistration } {
  const registry = new HandlerRegistry(resolveRetryPolicy({}));
  const { schema, ...rest } = options;
  const contract = {
    kind: 'command' as const,
    name: 'test.ping',
    schema: schema ?? { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } },
  };
  const handler = registry.add(contract as never, invoke, { distributed: true, ...rest });
  return { registry, handler };
}

/** A handler run of `handler` for a freshly decoded `of`. */
export function runFor(handler: HandlerRegistration, of: Delivery = delivery()): HandlerRun {
  const envelope = decode(of.message, 1_000_000);
  return handlerRun(deliveryRun(of), envelope, handler);
}

/** Observers plus everything they were told, per event. */
export function recorded(): { observers: Observers; seen: { [E in keyof ServiceEvents]: ServiceEvents[E][] } } {
  const observers = new Observers();
  const seen = {
    sent: [],
    handled: [],
    failed: [],
    retried: [],
    deadLettered: [],
    duplicate: [],
    replyDropped: [],
    stopped: [],
  } as {
    [E in keyof ServiceEvents]: ServiceEvents[E][];
  };
  for (const event of Object.keys(seen) as Array<keyof ServiceEvents>) {
    observers.on(event, (payload) => (seen[event] as unknown[]).push(payload));
  }
  return { observers, seen };
}

/** A logger that keeps nothing. */
export const silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} satisfies Logger;

/** A durable-less, native-delay transport's capabilities, as the receiver and fake transports of these tests declare. */
export const TEST_CAPABILITIES: TransportCapabilities = {
  delayedDelivery: 'native',
  orderingPerKey: false,
  maxMessageBytes: 1_000_000,
  replay: false,
  nativeDeadLetter: false,
  patternFiltering: 'server',
  durable: false,
  reconnect: false,
};

/**
 * The parts of a Receiver for service `svc` on a durable-less, native-delay transport, with
 * in-memory stores, a fixed clock and a silent logger; `overrides` replaces any of them.
 */
export function receiverParts(registry: HandlerRegistry, overrides: Partial<ReceiverParts> = {}): ReceiverParts {
  const abort = new AbortController();
  return {
    service: 'svc',
    capabilities: TEST_CAPABILITIES,
    registry,
    deadLetters: new InMemoryDeadLetterStore(),
    inbox: new InMemoryInboxStore(),
    dispatcher: { dispatch: async () => undefined },
    clock: fixedClock(),
    observers: recorded().observers,
    logger: silentLogger,
    maxMessageBytes: 1_000_000,
    signal: abort.signal,
    stopping: abort.signal,
    context: () => ({}) as never,
    ...overrides,
  };
}
