import { Services } from '../contracts.js';
import { notificationService } from '../setup/notification.js';
import { runService } from './runtime.js';

/** The notification-service process: its handlers (../setup/notification.ts) on the launcher's transport. */
await runService(Services.notification, notificationService);
