import type { Service, ServiceOptions } from '@switchyard/core';
import type { Delivery, Transport } from '@switchyard/core/transport';
import { waitFor } from '../../broker-gate.js';
import type { ScenarioContext } from '../harness.js';
import { type ServiceGroup, serviceGroup, within } from './service-group.js';

/** Skip reason for a transport without reply channels (`Transport.replies`): it cannot carry request/reply. */
export const noReplies = (transport: Transport): string | undefined =>
  transport.replies === undefined
    ? `transport '${transport.name}' has no reply channels (Transport.replies), so it cannot carry request/reply`
    : undefined;

/**
 * What every request/reply scenario starts from: a {@link ServiceGroup}, a unique name prefix
 * for its queries and services, a caller `<prefix>-caller` and a replier `<prefix>-replier`,
 * each on its own transport as separate processes would be.
 */
export interface RequestReplyFixture {
  readonly s: ServiceGroup;
  readonly prefix: string;
  readonly caller: Service;
  readonly replier: Service;
  /** Start every service of the group (in creation order), run `body`, then stop them all whatever happened. */
  run(body: () => Promise<void>): Promise<void>;
}

/** Options of {@link requestReplyFixture}: each service's options over the group's defaults, and the caller's transport. */
export interface RequestReplyFixtureOptions {
  readonly caller?: Partial<ServiceOptions>;
  readonly callerTransport?: Transport;
  readonly replier?: Partial<ServiceOptions>;
}

/** Make the fixture of a scenario; `tag` makes its prefix (see `ScenarioContext.name`). More services come from `s.service`. */
export async function requestReplyFixture(
  t: ScenarioContext,
  tag: string,
  options: RequestReplyFixtureOptions = {},
): Promise<RequestReplyFixture> {
  const s = await serviceGroup(t);
  const prefix = t.name(tag);
  const caller = await s.service(`${prefix}-caller`, options.caller, options.callerTransport);
  const replier = await s.service(`${prefix}-replier`, options.replier);
  return {
    s,
    prefix,
    caller,
    replier,
    run: (body) =>
      within(s, async () => {
        await s.start();
        await body();
      }),
  };
}

/** What `promise` rejected with (or what it resolved to): for asserting on an expected rejection. */
export function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.catch((error: unknown) => error);
}

/**
 * With `options.replyChannelExists`: once `expireAfterMs` has passed and the
 * next instance opened a reply channel (which sweeps expired ones where the
 * broker does not expire them itself), the channel at `address` is gone,
 * with the reply it held.
 */
export async function expectExpired(t: ScenarioContext, address: string, expireAfterMs: number): Promise<void> {
  const exists = t.options.replyChannelExists;
  if (exists === undefined) return;
  // Time has to pass here, not a message: the channel's last sign of life must be older than its expiry.
  await new Promise((resolve) => setTimeout(resolve, expireAfterMs * 1.5));
  const next = await t.transport();
  const sweeper = await openInto(next, t.name('next'), [], 30_000);
  await waitFor(
    async () => !(await exists(address)),
    `reply channel '${address}' to be removed after expiry`,
    t.waitMs,
    100,
  );
  await sweeper.close();
}

/** Open a reply channel on `transport` whose deliveries land in `into` (acked). */
export function openInto(transport: Transport, owner: string, into: Delivery[], expireAfterMs: number) {
  const replies = transport.replies;
  if (replies === undefined) throw new Error('no reply channels');
  return replies.open(
    owner,
    async (delivery) => {
      into.push(delivery);
      await delivery.ack();
    },
    { expireAfterMs },
  );
}
