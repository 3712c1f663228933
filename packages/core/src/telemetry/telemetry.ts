import {
  createNoopMeter,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { SendOrigin } from '../bus/dispatcher.js';
import { ConfigurationError } from '../errors.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { Transport } from '../transport/types.js';
import type { Observers } from '../util/observers.js';
import { ChannelGauges } from './channel-gauges.js';
import { createInstruments, type Instruments } from './instruments.js';
import { processSpanOf } from './process-span.js';
import { ProcessTargets } from './process-target.js';
import { endProducerSpan, type ProducerSpan, startProducerSpan } from './producer-span.js';
import { SendTargets } from './send-target.js';

/** The API's no-op tracer provider: what the global proxy delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
/**
 * The API's no-op counter: what every counter of a no-op meter is. Kept here, next to
 * `measuring`, its per-message use: a module-local constant, not an imported binding.
 */
const NOOP_COUNTER = createNoopMeter().createCounter('noop');

/** Instrumentation scope name of Switchyard's spans and metrics. */
export const INSTRUMENTATION_SCOPE = '@switchyard/core';

/** Options of a service's tracing and metrics (`ServiceOptions.telemetry`). */
export interface TelemetryOptions {
  /** Where spans go (default: the global tracer provider of `@opentelemetry/api`, a no-op without an SDK). */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global meter provider, read when the service starts). */
  readonly meterProvider?: MeterProvider;
  /**
   * How a consumer's `process` span relates to the producer's span: `child`
   * (default: one trace across services) or `link` (a new trace per handler
   * run, linked to the producer's span).
   */
  readonly consumerSpans?: 'child' | 'link';
  /**
   * How long one read of the broker's channel stats (the `switchyard.channel.*`
   * gauges) is reused, in ms (default 10 000): collections within that time
   * report the same figures and do not ask the broker again. 0 asks at every
   * collection.
   */
  readonly channelStatsMaxAgeMs?: number;
}

/** The messaging.system value of a transport name (the conventions' well-known values where one exists). */
export function messagingSystem(transportName: string): string {
  return transportName === 'sqs' ? 'aws_sqs' : transportName;
}

/**
 * One service's tracing and metrics, through `@opentelemetry/api` only. With
 * no SDK installed every call lands on the API's no-op tracer and meter: no
 * span is recorded, no header is rewritten, nothing is exported.
 *
 * Spans (OpenTelemetry messaging semantic conventions): a PRODUCER span per
 * message sent (`send <destination>`), whose context replaces the message's
 * `ce-traceparent`/`ce-tracestate`; a CONSUMER span per handler run
 * (`process <channel>`), child of (or linked to) the producer's context, with
 * retries (`retry`), exceptions and the final failure (`dead_letter`,
 * `discard`, `stop`) as events and `switchyard.outcome` as attribute. The
 * producer span is in `producer-span.ts`, the consumer span in
 * `process-stage.ts`.
 *
 * Metrics: `messaging.client.sent.messages`, `messaging.client.consumed.messages`,
 * `messaging.process.duration` (s), `switchyard.retries`, `switchyard.dead_letters`
 * (by `error.type` = the reason's code), `switchyard.discarded`,
 * `switchyard.inbox.duplicates`, `switchyard.replies.dropped`,
 * `switchyard.handlers.in_flight` (see `instruments.ts`), and the
 * `switchyard.channel.*` gauges (see {@link Telemetry.observeChannels}).
 * @internal Built by the service from `ServiceOptions.telemetry`.
 */
export class Telemetry {
  readonly service: string;
  readonly linkConsumers: boolean;
  readonly channelStatsMaxAgeMs: number;
  readonly #tracerProvider: TracerProvider | undefined;
  readonly #meterProvider: MeterProvider | undefined;
  #tracer: Tracer | undefined;
  #instruments: Instruments | undefined;
  /** What the process spans and metrics of each handler and channel share (built once each). */
  readonly targets: ProcessTargets;
  /** What the producer spans and sent counts of each destination share (built once each). */
  readonly #sendTargets = new SendTargets();

  constructor(service: string, options: TelemetryOptions = {}) {
    this.service = service;
    this.targets = new ProcessTargets(service);
    this.linkConsumers = options.consumerSpans === 'link';
    const maxAge = options.channelStatsMaxAgeMs ?? 10_000;
    if (!Number.isFinite(maxAge) || maxAge < 0)
      throw new ConfigurationError(
        `telemetry.channelStatsMaxAgeMs must be a number of ms ≥ 0 (0: read at every collection), got ${maxAge}`,
      );
    this.channelStatsMaxAgeMs = maxAge;
    this.#tracerProvider = options.tracerProvider;
    this.#meterProvider = options.meterProvider;
  }

  /**
   * False while spans cannot record: no tracer provider given and none
   * registered globally (the API's no-op). Checked per message, so an SDK
   * registered after the service was created still applies; costs a global
   * lookup and a comparison.
   */
  get tracing(): boolean {
    if (this.#tracerProvider !== undefined) return true;
    const global = trace.getTracerProvider();
    return !(global instanceof ProxyTracerProvider) || global.getDelegate() !== NOOP_TRACER_PROVIDER;
  }

  /** False when the instruments were created from a no-op meter (no SDK when they were first used). */
  get measuring(): boolean {
    return this.instruments.retries !== NOOP_COUNTER;
  }

  /** The tracer of the given tracer provider, else of the global one (created on first use, then kept). */
  get tracer(): Tracer {
    this.#tracer ??= (this.#tracerProvider ?? trace).getTracer(INSTRUMENTATION_SCOPE);
    return this.#tracer;
  }

  /** The instruments; created on first use from the meter provider of that moment. */
  get instruments(): Instruments {
    this.#instruments ??= createInstruments(this.meter, this.targets);
    return this.#instruments;
  }

  /** The meter of the meter provider of this moment. */
  get meter(): Meter {
    return (this.#meterProvider ?? metrics).getMeter(INSTRUMENTATION_SCOPE);
  }

  /**
   * The `switchyard.channel.*` gauges of `channels` on `transport` (see
   * {@link ChannelGauges}); undefined when no meter provider measures or the
   * transport reports no channel stats. The caller closes them on stop.
   */
  observeChannels(
    transport: Transport,
    channels: readonly string[],
    onError: (error: unknown) => void,
  ): ChannelGauges | undefined {
    if (!this.measuring || transport.channelStats === undefined || !transport.capabilities.channelStats?.length)
      return undefined;
    return new ChannelGauges(this.meter, {
      transport,
      channels,
      system: messagingSystem(transport.name),
      group: this.service,
      maxAgeMs: this.channelStatsMaxAgeMs,
      onError,
    });
  }

  /**
   * Subscribe the metrics and span events that come from the service's
   * observer events. Called when the service starts: the counters of `sent`,
   * `duplicate` and `deadLettered` are subscribed only if a meter provider is
   * there then (so a service without an SDK pays nothing per send).
   */
  observe(observers: Observers): void {
    const group = { 'messaging.consumer.group.name': this.service };
    observers.on('retried', ({ envelope, nextAttempt, delayMs, handler }) => {
      this.instruments.retries.add(1, { ...group, 'switchyard.handler': handler });
      processSpanOf(envelope)?.addEvent('retry', {
        'switchyard.next_attempt': nextAttempt,
        'switchyard.delay_ms': delayMs,
      });
    });
    observers.on('failed', ({ envelope, error }) => {
      processSpanOf(envelope)?.recordException(error instanceof Error ? error : String(error));
    });
    if (!this.measuring) return;
    const sent = this.instruments.sent;
    observers.on('sent', ({ outbound, origin }) => {
      this.#sendTargets.of(outbound.destination).sent(sent, origin).value++;
    });
    observers.on('duplicate', () => this.instruments.duplicates.add(1, group));
    observers.on('replyDropped', ({ reason }) =>
      this.instruments.droppedReplies.add(1, { ...group, 'switchyard.reason': reason }),
    );
    observers.on('deadLettered', ({ record }) => {
      this.instruments.deadLetters.add(1, { ...group, 'error.type': record.reason.code });
    });
  }

  /**
   * Start the PRODUCER span of one outbound message (see
   * {@link startProducerSpan}: its parent, and the outbound carrying its
   * context). Returns undefined without an SDK (see {@link Telemetry.tracing}): the
   * message goes out as it is, at the cost of that check.
   */
  startProducer(outbound: OutboundMessage, origin: SendOrigin): ProducerSpan | undefined {
    if (!this.tracing) return undefined;
    return startProducerSpan(this.tracer, this.service, this.#sendTargets.of(outbound.destination), outbound, origin);
  }

  /**
   * End a producer span: ok, or failed with `error`. `systems`: the transport
   * names the message went to (asked once per command destination, whose
   * route does not change; per message for events). See {@link endProducerSpan}.
   */
  endProducer(producer: ProducerSpan, systems: () => readonly string[], error?: unknown): void {
    endProducerSpan(producer, systems, error);
  }
}
