import { MemoryBroker, MemoryTransport, type MemoryTransportOptions } from '@switchyard/core/memory';
import { type ConformanceOptions, runTransportConformance } from '@switchyard/testing';

/**
 * The in-memory transport against the conformance suite. One broker per run
 * stands for "the broker"; each transport is one process connected to it, and
 * `dropConnections` drops every one of them for a short outage, during which
 * sends reject, as they would while a real client reconnects.
 */
function memoryConformance(
  name: string,
  extra: Pick<MemoryTransportOptions, 'faults' | 'behaveAs'> = {},
): ConformanceOptions {
  const broker = new MemoryBroker();
  const live = new Set<MemoryTransport>();
  return {
    name,
    createTransport() {
      const transport = new MemoryTransport({ broker, drainTimeoutMs: 5_000, ...extra });
      live.add(transport);
      return transport;
    },
    // A reply channel is a channel of the broker, removed when closed or swept after expiry.
    replyChannelExists: async (address) => broker.channels().includes(address),
    async dropConnections() {
      for (const transport of live) {
        transport.dropConnection({ downForMs: 20 });
      }
    },
    // The broker goes away for every transport (process) at once: sends reject, nothing is delivered.
    outage: {
      describe: 'injected fault: dropConnection on every transport',
      downMs: 500,
      async cut() {
        for (const transport of live) transport.dropConnection({ downForMs: 60_000 });
      },
      async restore() {
        for (const transport of live) transport.restoreConnection();
      },
    },
  };
}

runTransportConformance(memoryConformance('memory'));
// Weaker capabilities exercise the suite's emulated-delay and client-filtering branches (and core's
// fallbacks in the bus scenarios); latency on every delivery shakes out scenarios that only pass
// because delivery is synchronous-fast.
runTransportConformance(
  memoryConformance('memory as a weaker broker (emulated delay, client-side filtering, 1 ms latency)', {
    faults: { deliveryDelayMs: 1 },
    behaveAs: { delayedDelivery: 'emulated', patternFiltering: 'client', orderingPerKey: false },
  }),
);
