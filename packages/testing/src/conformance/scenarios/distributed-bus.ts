import type { Scenario } from '../harness.js';

/**
 * Distributed-bus scenarios through core's `createService` on the transport
 * under test: command to a named service, event fan-out to several services,
 * delayed retry, dead letter after the last attempt, malformed and
 * schema-invalid input. Owned by the core runtime; added here as it lands.
 * Each is a {@link Scenario}; `runTransportConformance` runs this list after
 * the transport-level groups.
 */
export const distributedBusScenarios: Scenario[] = [];
