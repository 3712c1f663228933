import { MemoryBroker, type MemoryFaults, MemoryTransport } from '@switchyard/core/memory';
import { type ConformanceOptions, runTransportConformance } from '@switchyard/testing';

/**
 * The in-memory transport against the conformance suite. One broker per run
 * stands for "the broker"; each transport is one process connected to it, and
 * `dropConnections` drops every one of them for a short outage, during which
 * sends reject, as they would while a real client reconnects.
 */
function memoryConformance(name: string, faults?: MemoryFaults): ConformanceOptions {
  const broker = new MemoryBroker();
  const live = new Set<MemoryTransport>();
  return {
    name,
    createTransport() {
      const transport = new MemoryTransport({ broker, drainTimeoutMs: 5_000, ...(faults ? { faults } : {}) });
      live.add(transport);
      return transport;
    },
    async dropConnections() {
      for (const transport of live) {
        transport.dropConnection({ downForMs: 20 });
      }
    },
  };
}

runTransportConformance(memoryConformance('memory'));
// Latency on every delivery shakes out scenarios that only pass because delivery is synchronous-fast.
runTransportConformance(memoryConformance('memory with 1 ms delivery latency', { deliveryDelayMs: 1 }));
