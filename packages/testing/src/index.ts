export type { ConformanceOptions } from './conformance/options.js';
export { brokerReachable, waitFor } from './broker-gate.js';
