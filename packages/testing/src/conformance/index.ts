/** The transport conformance suite and the helpers it is built from, reusable in transport tests. */

export { type CollectOptions, Collector, collect, type Received, type SettleMode } from './collect.js';
export { type Scenario, ScenarioContext } from './harness.js';
export { payloadOf, seqOf, type TestMessageOptions, testEvent, testMessage, testMessages } from './messages.js';
export { uniqueName } from './names.js';
export type { ConformanceOptions } from './options.js';
export { runTransportConformance } from './run.js';
