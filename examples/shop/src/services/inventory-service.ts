import { Services } from '../contracts.js';
import { inventoryService } from '../setup/inventory.js';
import { runService } from './runtime.js';

/** The inventory-service process: its handlers (../setup/inventory.ts) on the launcher's transport. */
await runService(Services.inventory, inventoryService);
