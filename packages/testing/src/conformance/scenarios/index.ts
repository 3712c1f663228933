import type { Scenario } from '../harness.js';
import { basicScenarios } from './basics.js';
import { channelStatsScenarios } from './channel-stats.js';
import { closeScenarios } from './close.js';
import { consumerScenarios } from './consumers.js';
import { delayOrderScenarios } from './delay-order.js';
import { distributedBusScenarios } from './distributed-bus.js';
import { fanOutScenarios } from './fan-out.js';
import { outageScenarios } from './outage.js';
import { reconnectScenarios } from './reconnect.js';
import { requestReplyScenarios } from './request-reply.js';
import { requestReplyStopScenarios } from './request-reply-stop.js';
import { settlementScenarios } from './settlement.js';

/** Every scenario, grouped one file per concern, in the order the suite runs them. Names are unique. */
export const allScenarios: readonly Scenario[] = [
  ...basicScenarios,
  ...fanOutScenarios,
  ...settlementScenarios,
  ...consumerScenarios,
  ...closeScenarios,
  ...delayOrderScenarios,
  ...reconnectScenarios,
  ...outageScenarios,
  ...distributedBusScenarios,
  ...channelStatsScenarios,
  ...requestReplyScenarios,
  ...requestReplyStopScenarios,
];
