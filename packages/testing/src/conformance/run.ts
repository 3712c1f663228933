import type { Transport, TransportCapabilities } from '@switchyard/core/transport';
import { afterEach, beforeAll, describe, it } from 'vitest';
import { brokerReachable } from '../broker-gate.js';
import type { Scenario } from './harness.js';
import { ScenarioContext } from './harness.js';
import type { ConformanceOptions } from './options.js';
import { allScenarios } from './scenarios/index.js';

/**
 * Register the transport conformance suite for one transport: a `describe`
 * block with one `it` per scenario (see `scenarios/`). Call it at the top level
 * of a test file; registration is synchronous.
 *
 * - `probe` runs first (in `beforeAll`): when the broker is unreachable every
 *   scenario skips with one printed reason, or the suite fails under
 *   SWITCHYARD_REQUIRE_BROKERS=1.
 * - Scenarios that the transport's capabilities rule out, and those named in
 *   `options.skip`, are registered as skipped with the reason in their title.
 *   When capabilities are only known after an async `createTransport`, the
 *   scenario skips at run time with the same reason.
 * - Every scenario opens its own transports and unique channels and closes
 *   them afterwards, so the suite can share a broker with other suites.
 */
export function runTransportConformance(options: ConformanceOptions): void {
  checkNames(options);
  const known = options.capabilities ?? capabilitiesAtRegistration(options);
  describe(`transport conformance: ${options.name}`, () => {
    let reachable = false;
    let capabilities = known;
    let context: ScenarioContext | undefined;

    beforeAll(async () => {
      reachable = options.probe === undefined || (await brokerReachable(options.name, options.probe));
      if (reachable && capabilities === undefined) {
        const transport = await options.createTransport();
        capabilities = transport.capabilities;
        await transport.close();
      }
    });

    afterEach(async () => {
      const finished = context;
      context = undefined;
      await finished?.dispose();
    });

    for (const scenario of allScenarios) {
      if (options.only !== undefined && !options.only.includes(scenario.name)) continue;
      const reason = skipReason(scenario, options, known);
      if (reason !== undefined) {
        it.skip(`${scenario.title} — skipped: ${reason}`, () => undefined);
        continue;
      }
      it(
        scenario.title,
        async (test) => {
          if (!reachable) test.skip(`${options.name} broker is unreachable`);
          const caps = capabilities as TransportCapabilities;
          const late = skipReason(scenario, options, caps);
          if (late !== undefined) test.skip(late);
          if (scenario.skipFor !== undefined) {
            const probe = await options.createTransport();
            const why = scenario.skipFor(probe);
            await probe.close();
            if (why !== undefined) test.skip(why);
          }
          context = new ScenarioContext(options, caps);
          await scenario.run(context);
        },
        scenario.timeoutMs ?? 60_000,
      );
    }
  });
}

function skipReason(
  scenario: Scenario,
  options: ConformanceOptions,
  capabilities: TransportCapabilities | undefined,
): string | undefined {
  const byName = options.skip?.[scenario.name];
  if (byName !== undefined) return byName;
  return capabilities === undefined ? undefined : scenario.skipWhen?.(capabilities, options);
}

/** Read capabilities from a transport built synchronously (construction does no I/O), then close it. */
function capabilitiesAtRegistration(options: ConformanceOptions): TransportCapabilities | undefined {
  let made: Transport | Promise<Transport>;
  try {
    made = options.createTransport();
  } catch {
    return undefined;
  }
  if (made instanceof Promise) {
    made.then((transport) => transport.close()).catch(() => undefined);
    return undefined;
  }
  const capabilities = made.capabilities;
  Promise.resolve()
    .then(() => made.close())
    .catch(() => undefined);
  return capabilities;
}

/** Scenario names are the keys of `skip` and `only`: they must be unique, and a key naming no scenario is a typo. */
function checkNames(options: ConformanceOptions): void {
  const names = new Set<string>();
  for (const scenario of allScenarios) {
    if (names.has(scenario.name)) throw new Error(`conformance scenario name '${scenario.name}' is used twice`);
    names.add(scenario.name);
  }
  const unknown = [...Object.keys(options.skip ?? {}), ...(options.only ?? [])].filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new Error(`${options.name}: no conformance scenario is named ${unknown.map((n) => `'${n}'`).join(', ')}`);
  }
}
