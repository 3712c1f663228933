import type { TransportMessage } from '@switchyard/core/transport';
import { expect } from 'vitest';

/** Asserts that `received` carries `sent`'s id, every sent header with its value, its body bytes, and its key. */
export function expectSameMessage(received: TransportMessage, sent: TransportMessage): void {
  expect(received.id).toBe(sent.id);
  for (const [name, value] of Object.entries(sent.headers)) {
    expect(received.headers[name], `header ${name}`).toBe(value);
  }
  expect(Buffer.from(received.body).equals(Buffer.from(sent.body)), 'body bytes intact').toBe(true);
  if (sent.key !== undefined) expect(received.key, 'ordering key').toBe(sent.key);
}

/** Asserts `error` is a Switchyard error with one of `codes`. */
export function expectCode(error: unknown, codes: readonly string[]): void {
  const code = (error as { code?: unknown } | null)?.code;
  expect(codes, `error code of ${String(error)}`).toContain(code);
}

/** Resolves with 'settled' when `promise` settles within `ms`, else 'pending'. Used only to assert that something has NOT happened yet. */
export async function stateAfter(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  const outcome = await Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    pending,
  ]);
  clearTimeout(timer);
  return outcome;
}

/** A promise with its resolver, for handlers that wait for the test. */
export function latch(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Yield to the event loop once (lets other I/O run), without waiting for any time. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Wait `ms`. Only for negative checks (give a misbehaving transport time to do what it must not); never to wait for messages. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
