/**
 * `@switchyard/core/memory`: the in-memory transport, for tests, examples and
 * single-process use. Nothing survives the process.
 */

export { MemoryBroker, type MemoryBrokerOptions, type MemoryChannelStats } from './broker.js';
export type { MemoryFaults } from './faults.js';
export { MemoryTransport, type MemoryTransportOptions } from './memory-transport.js';
