import {
  type Contract,
  createService,
  type Handler,
  type Service,
  type ServiceOptions,
  type ServiceRoute,
} from '@switchyard/core';
import { OrderPlaced, PlaceOrder, ReserveStock, Services } from './contracts.js';
import type { ShopRuntime } from './services/runtime.js';
import { inventoryService } from './setup/inventory.js';
import { notificationService } from './setup/notification.js';
import { orderService } from './setup/order.js';

/** The service map the shop is described on: named transport URLs and routes. */
export interface ShopMap {
  readonly transports: Readonly<Record<string, string>>;
  readonly services?: Readonly<Record<string, ServiceRoute>>;
}

/**
 * The shop's services with every handler registered, built but not started
 * (nothing connects to a broker): what `switchyard asyncapi` and
 * `switchyard contracts export` read, on the given map (RabbitMQ on 127.0.0.1
 * when it names no transport). The storefront (the launcher) only sends.
 */
export function services(map: ShopMap = { transports: {} }): Service[] {
  const transports = Object.keys(map.transports).length > 0 ? map.transports : { default: 'amqp://127.0.0.1' };
  const options = (name: string): ServiceOptions => ({
    name,
    transports,
    ...(map.services ? { services: map.services } : {}),
    handleSignals: false,
  });
  const built = [
    [Services.order, orderService],
    [Services.inventory, inventoryService],
    [Services.notification, notificationService],
  ] as const;
  const result = built.map(([name, setup]) => {
    const service = createService(options(name));
    setup(registrar(service));
    return service;
  });
  return [...result, createService(options('storefront'))];
}

/** What each shop service sends (sends are calls inside handlers, so they are declared). */
export const sends: Readonly<Record<string, ReadonlyArray<Contract | { contract: Contract; to: string }>>> = {
  storefront: [{ contract: PlaceOrder, to: Services.order }],
  [Services.order]: [{ contract: ReserveStock, to: Services.inventory }, OrderPlaced],
};

/** `info` of the shop's AsyncAPI document. */
export const asyncapi = {
  title: 'Switchyard shop example',
  version: '0.1.0',
  description: 'order-service, inventory-service and notification-service (examples/shop), generated from the code.',
};

function registrar(service: Service): ShopRuntime {
  return {
    service,
    log: () => {},
    handleCommand(contract, handler, options) {
      service.handle(contract, handler, { ...options, distributed: true });
    },
    handleEvent(target, handler, options) {
      if (typeof target === 'string')
        service.handle(target, handler as Handler<unknown>, { ...options, distributed: true });
      else service.handle(target, handler, { ...options, distributed: true });
    },
  };
}
