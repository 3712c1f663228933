import { Header } from '../../message/codec.js';
import { type Clock, sleep } from '../../util/clock.js';
import type { DeliveryRun, Stage } from './pipeline.js';

/**
 * Hold-until-due, for transports whose delay is emulated: a delivery whose
 * `ce-deliverat` lies in the future waits here, unsettled, until it is due, so
 * a crash meanwhile only redelivers it. When `stopping` aborts, the wait
 * rejects with its reason and the receiver nacks: the delivery goes back at
 * once. The receiver includes this stage only for `delayedDelivery: 'emulated'`.
 */
export function holdStage(parts: { readonly clock: Clock; readonly stopping: AbortSignal }): Stage<DeliveryRun> {
  const { clock, stopping } = parts;
  return {
    name: 'hold',
    wrap: (next) => (run) => {
      const raw = run.delivery.message.headers[Header.deliverAt];
      if (raw === undefined) return next(run);
      const wait = Date.parse(raw) - clock.now();
      if (!(wait > 0)) return next(run);
      return sleep(clock, wait, stopping).then(() => next(run));
    },
  };
}
