import { OrderPlaced } from '../contracts.js';
import { Env } from '../protocol.js';
import type { ShopRuntime } from '../services/runtime.js';

/** An address no retry can fix: the retry policy dead-letters it at once. */
class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
}

/**
 * A stand-in for an SMTP server: mail to `slow-mail.example` times out on the
 * first two tries of each order, then goes through.
 */
const tries = new Map<string, number>();
function sendMail(orderId: string, to: string): void {
  const [local, domain] = to.split('@');
  if (!local || !domain) throw new InvalidAddressError(`invalid address '${to}'`);
  const attempt = (tries.get(orderId) ?? 0) + 1;
  tries.set(orderId, attempt);
  if (domain === 'slow-mail.example' && attempt <= 2) throw new Error('smtp timeout');
}

/**
 * notification-service: e-mails a confirmation for every `order.placed`
 * (flaky mail server: recovers through delayed retries; an invalid address is
 * dead-lettered with its reason), and feeds an activity timeline from every
 * order event through the pattern `order.#`.
 */
export function notificationService(shop: ShopRuntime): void {
  const initialDelayMs = Number(process.env[Env.retryDelayMs] ?? 200);
  shop.handleEvent(
    OrderPlaced,
    async (event) => {
      sendMail(event.orderId, event.email);
      shop.log(`emailed confirmation of ${event.orderId} to ${event.email}`);
    },
    {
      name: 'email-confirmation',
      retry: {
        instantRetries: 0,
        delayedRetries: 3,
        initialDelayMs,
        multiplier: 2,
        jitter: 0,
        retryable: (error) => !(error instanceof InvalidAddressError),
      },
    },
  );
  const timeline: string[] = [];
  shop.handleEvent(
    'order.#',
    async (event, ctx) => {
      timeline.push(`${ctx.headers.name}:${String((event as { orderId?: unknown }).orderId)}`);
    },
    { name: 'activity-timeline' },
  );
}
