import { Services } from '../contracts.js';
import { orderService } from '../setup/order.js';
import { runService } from './runtime.js';

/** The order-service process: its handlers (../setup/order.ts) on the launcher's transport. */
await runService(Services.order, orderService);
