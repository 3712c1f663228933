/**
 * What a service process tells the launcher over the IPC channel of
 * `child_process.fork`. The launcher accounts for every sent message with
 * these reports, so they carry ids, not just counts.
 */

/** A handler a service registered: its id and what it listens to. */
export interface HandlerInfo {
  readonly id: string;
  /** Message name (commands) or routing pattern (events). */
  readonly pattern: string;
  readonly kind: 'command' | 'event';
}

import type { SpanReport } from './trace.js';

/** One report from a service process. */
export type Report =
  | { readonly type: 'spans'; readonly service: string; readonly spans: readonly SpanReport[] }
  | { readonly type: 'ready'; readonly service: string; readonly handlers: readonly HandlerInfo[] }
  | { readonly type: 'log'; readonly service: string; readonly text: string }
  | {
      readonly type: 'sent';
      readonly service: string;
      readonly id: string;
      readonly name: string;
      readonly kind: string;
      /** Target service of a command; absent for a published event. */
      readonly target?: string;
    }
  | {
      readonly type: 'handled';
      readonly service: string;
      readonly handler: string;
      readonly id: string;
      readonly name: string;
    }
  | {
      readonly type: 'retried';
      readonly service: string;
      readonly handler: string;
      readonly id: string;
      readonly nextAttempt: number;
      readonly delayMs: number;
    }
  | {
      readonly type: 'deadLettered';
      readonly service: string;
      /** Absent when the message failed before a handler was chosen (undecodable, unroutable). */
      readonly handler?: string;
      readonly id: string;
      readonly recordId: string;
      readonly reason: string;
    };

/** True when `value` looks like a {@link Report}; the launcher ignores anything else on the channel. */
export function isReport(value: unknown): value is Report {
  if (typeof value !== 'object' || value === null) return false;
  const { type, service } = value as { type?: unknown; service?: unknown };
  return typeof type === 'string' && typeof service === 'string';
}

/** Environment variables the launcher passes to each service process. */
export const Env = {
  /** Transport URL every service uses (`sqlite:/…/shop.db`, `amqp://…`). */
  url: 'SHOP_TRANSPORT_URL',
  /** SQLite file of the dead-letter store. */
  deadLetters: 'SHOP_DEAD_LETTERS',
  /** Initial delay of the delayed retries, in ms. */
  retryDelayMs: 'SHOP_RETRY_DELAY_MS',
  /** `1`: install the OpenTelemetry SDK and report finished spans (`--trace`). */
  trace: 'SHOP_TRACE',
} as const;
