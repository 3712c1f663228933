import {
  type Clock,
  createService,
  InMemoryDeadLetterStore,
  type Service,
  type ServiceOptions,
} from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { MessageSpy } from './message-spy.js';

/** Options of {@link createFlow}. */
export interface FlowOptions {
  /** Clock for every service and the broker (e.g. a ManualClock); default the system clock. */
  readonly clock?: Clock;
}

/**
 * Several services in one process on one in-memory broker, with one spy on
 * all of them and a shared dead letter store:
 *
 * ```ts
 * const flow = createFlow();
 * const orders = flow.service({ name: 'order-service' }).handle(PlaceOrder, place, { distributed: true });
 * await flow.start();
 * await orders.distributedBus.sendCommand('order-service', PlaceOrder, {...});
 * await flow.idle();
 * expect(flow.spy.handledOf('order.place')).toHaveLength(1);
 * ```
 */
export class Flow {
  readonly broker: MemoryBroker;
  readonly spy = new MessageSpy();
  readonly deadLetters = new InMemoryDeadLetterStore();
  readonly services: Service[] = [];
  readonly #clock: Clock | undefined;

  constructor(options: FlowOptions = {}) {
    this.#clock = options.clock;
    this.broker = new MemoryBroker(options.clock ? { clock: options.clock } : {});
  }

  /** Add a service on this flow's broker; options override the flow's defaults. */
  service(
    options: Omit<ServiceOptions, 'transport' | 'transports'> & { transport?: ServiceOptions['transport'] },
  ): Service {
    const service = createService({
      transport: new MemoryTransport({ broker: this.broker }),
      deadLetters: this.deadLetters,
      handleSignals: false,
      ...(this.#clock ? { clock: this.#clock } : {}),
      ...options,
    });
    this.services.push(service);
    this.spy.watch(service);
    return service;
  }

  /** Start every service. */
  async start(): Promise<void> {
    await Promise.all(this.services.map((service) => service.start()));
  }

  /**
   * Resolves when no service is handling anything and no channel holds a ready
   * message (delayed ones may remain: advance the clock for those). Rejects
   * after `timeoutMs`.
   */
  async idle(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietRounds = 0;
    while (quietRounds < 3) {
      if (Date.now() > deadline) throw new Error(`flow did not become idle within ${timeoutMs} ms`);
      await new Promise((resolve) => setImmediate(resolve));
      const busy =
        this.services.some((service) => service.inFlight > 0) ||
        this.broker.channels().some((name) => (this.broker.stats(name)?.ready ?? 0) > 0);
      quietRounds = busy ? 0 : quietRounds + 1;
    }
  }

  /** Stop every service and detach the spy. */
  async stop(): Promise<void> {
    await Promise.all(this.services.map((service) => service.stop()));
    this.spy.detach();
  }
}

/** Create a {@link Flow}. */
export function createFlow(options?: FlowOptions): Flow {
  return new Flow(options);
}
