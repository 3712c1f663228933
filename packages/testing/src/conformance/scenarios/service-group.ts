import { createService, InMemoryDeadLetterStore, type Service, type ServiceOptions } from '@switchyard/core';
import type { Transport } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { MessageSpy } from '../../flow/message-spy.js';
import type { ScenarioContext } from '../harness.js';

/** The retry policy of a group's services unless a scenario gives its own: quick, no jitter, no instant retries. */
export const GROUP_RETRY = { instantRetries: 0, delayedRetries: 2, initialDelayMs: 100, jitter: 0 } as const;

/**
 * Services of one scenario, each on its own transport (as separate processes
 * would be) unless one is given, watched by one spy and sharing one in-memory
 * dead-letter store; `stop` stops them all and detaches the spy.
 */
export interface ServiceGroup {
  readonly spy: MessageSpy;
  readonly deadLetters: InMemoryDeadLetterStore;
  /** A new service; `options` override the group's defaults (`retry` replaces {@link GROUP_RETRY} as a whole). */
  service(name: string, options?: Partial<ServiceOptions>, transport?: Transport): Promise<Service>;
  /** Start every service, in creation order. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Assert that nothing was dead-lettered, as observed and as stored. */
  expectNoDeadLetters(): Promise<void>;
}

export async function serviceGroup(t: ScenarioContext): Promise<ServiceGroup> {
  const spy = new MessageSpy();
  const deadLetters = new InMemoryDeadLetterStore();
  const services: Service[] = [];
  return {
    spy,
    deadLetters,
    async service(name, options = {}, transport) {
      const service = createService({
        name,
        transport: transport ?? (await t.transport()),
        deadLetters,
        handleSignals: false,
        drainTimeoutMs: 5_000,
        retry: GROUP_RETRY,
        ...options,
      });
      services.push(service);
      spy.watch(service);
      return service;
    },
    start: async () => {
      for (const service of services) await service.start();
    },
    stop: async () => {
      await Promise.all(services.map((service) => service.stop()));
      spy.detach();
    },
    async expectNoDeadLetters() {
      expect(spy.deadLettered).toEqual([]);
      expect(await deadLetters.list()).toEqual([]);
    },
  };
}

/** Run `run`, then stop the group whatever happened. */
export async function within(group: ServiceGroup, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    await group.stop();
  }
}
