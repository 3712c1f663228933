import { describeError } from '@switchyard/core/transport';

/**
 * Decides whether a broker suite runs. Resolves true when `probe` succeeds.
 * When it fails: with SWITCHYARD_REQUIRE_BROKERS=1 (CI) it rejects, so the
 * suite fails loudly; otherwise it prints one line saying which broker is
 * unreachable and why, and resolves false so the suite skips.
 *
 * ```ts
 * const reachable = await brokerReachable('RabbitMQ at 127.0.0.1:5672', () => ping());
 * describe.runIf(reachable)('rabbitmq', () => { ... });
 * ```
 */
export async function brokerReachable(broker: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const reason = `${broker} is unreachable: ${describeError(error)}`;
    if (process.env.SWITCHYARD_REQUIRE_BROKERS === '1') {
      throw new Error(`${reason} (SWITCHYARD_REQUIRE_BROKERS=1 turns this skip into a failure)`, { cause: error });
    }
    console.warn(
      `[switchyard] skipping: ${reason}. Start it as docs/brokers.md says; in CI (SWITCHYARD_REQUIRE_BROKERS=1) this is a failure.`,
    );
    return false;
  }
}

/**
 * Resolves when `predicate` holds, polling every `intervalMs`; rejects after
 * `timeoutMs` with `what` in the message. Give `what` as a function to describe
 * the state at the timeout (e.g. how many are still missing), not at the call.
 * The predicate may be asynchronous (a question to the broker): it is awaited,
 * never asked twice at once.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
