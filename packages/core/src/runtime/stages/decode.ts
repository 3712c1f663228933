import { ErrorCode, PoisonMessageError } from '../../errors.js';
import { decode } from '../../message/codec.js';
import type { Clock } from '../../util/clock.js';
import type { DeliveryRun, Stage } from './pipeline.js';

/**
 * Decode the delivery into `run.envelope`: size limit, required attributes,
 * safe JSON. Anything wrong throws a PoisonMessageError (`SY_TOO_LARGE`,
 * `SY_DECODE`), which the dead-letter stage stores; never retried.
 */
export function decodeStage(maxMessageBytes: number, clock: Clock): Stage<DeliveryRun> {
  return {
    name: 'decode',
    wrap: (next) => (run) => {
      try {
        run.envelope = decode(run.delivery.message, maxMessageBytes, clock.now());
      } catch (error) {
        if (error instanceof PoisonMessageError) throw error;
        throw new PoisonMessageError(ErrorCode.Decode, `message could not be decoded: ${String(error)}`, {
          cause: error,
        });
      }
      return next(run);
    },
  };
}
