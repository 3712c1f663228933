import type { Attributes } from '@opentelemetry/api';
import type { Tally, TallyCell } from './tally.js';

/**
 * What the process spans and consumption metrics of one handler on one
 * channel have in common, built on the first run and reused by every later
 * one: the span name, the constant attributes, the in-flight count and the
 * counter cells by outcome. Per message, telemetry then builds only what
 * differs per message (id, conversation id, attempt).
 * @internal
 */
export class ProcessTarget {
  /** `process <channel>`. */
  readonly spanName: string;
  readonly system: string;
  readonly channel: string;
  readonly group: string;
  readonly handler: string;
  /** Attributes of the metrics (system, channel, group, handler). */
  readonly attributes: Attributes;
  /** Handler runs in progress (read by the observable `switchyard.handlers.in_flight`). */
  inFlight = 0;
  #handled: TallyCell | undefined;
  readonly #outcomes = new Map<string, TallyCell>();

  constructor(system: string, channel: string, group: string, handler: string) {
    this.spanName = `process ${channel}`;
    this.system = system;
    this.channel = channel;
    this.group = group;
    this.handler = handler;
    this.attributes = {
      'messaging.system': system,
      'messaging.destination.name': channel,
      'messaging.consumer.group.name': group,
      'switchyard.handler': handler,
    };
  }

  /** The `consumed` cell of an outcome (and `error.type`, when the run failed); one per distinct pair. */
  outcome(consumed: Tally, outcome: string, error: string | undefined): TallyCell {
    if (outcome === 'handled' && error === undefined) {
      this.#handled ??= this.#cell(consumed, outcome, error);
      return this.#handled;
    }
    const key = error === undefined ? outcome : `${outcome}|${error}`;
    let cell = this.#outcomes.get(key);
    if (cell === undefined) {
      cell = this.#cell(consumed, outcome, error);
      this.#outcomes.set(key, cell);
    }
    return cell;
  }

  #cell(consumed: Tally, outcome: string, error: string | undefined): TallyCell {
    return consumed.cell(`${this.handler}|${this.channel}|${outcome}|${error ?? ''}`, () => ({
      ...this.attributes,
      // Required on messaging.client.consumed.messages and messaging.process.duration by the semconv.
      'messaging.operation.name': 'process',
      'switchyard.outcome': outcome,
      ...(error !== undefined ? { 'error.type': error } : {}),
    }));
  }
}

/** The process targets of one service, by handler id and channel. @internal */
export class ProcessTargets {
  readonly #byHandler = new Map<string, Map<string, ProcessTarget>>();

  constructor(readonly group: string) {}

  get(system: string, channel: string, handler: string): ProcessTarget {
    let byChannel = this.#byHandler.get(handler);
    if (byChannel === undefined) {
      byChannel = new Map();
      this.#byHandler.set(handler, byChannel);
    }
    let target = byChannel.get(channel);
    if (target === undefined) {
      target = new ProcessTarget(system, channel, this.group, handler);
      byChannel.set(channel, target);
    }
    return target;
  }

  *[Symbol.iterator](): IterableIterator<ProcessTarget> {
    for (const byChannel of this.#byHandler.values()) yield* byChannel.values();
  }
}
