import { validateIncoming } from '../../contracts/versioning.js';
import { ValidationError } from '../../errors.js';
import type { HandlerRun, Stage, Step } from './pipeline.js';

/**
 * Validate the payload against the handler's contract — upcast first when it
 * was written with an older contract version (`ce-dataschema`) — and hand the
 * schema's output (defaults and transforms applied) on as `run.payload`. A payload that
 * breaks the contract throws a ValidationError for the dead-letter stage: no
 * retry can fix it. A schema that throws instead of reporting issues counts as
 * a validation failure too. Handlers without a contract (patterns, channels)
 * get the decoded payload as it is.
 */
export function validateStage(): Stage<HandlerRun> {
  return {
    name: 'validate',
    wrap:
      (next) =>
      (run): Step => {
        const contract = run.handler.contract;
        if (contract === undefined) return next(run);
        let checked: unknown;
        try {
          checked = validateIncoming(contract, run.envelope.payload, run.envelope.headers.dataSchema);
        } catch (error) {
          throw asValidationError(contract.name, error);
        }
        if (!(checked instanceof Promise)) {
          run.payload = checked;
          return next(run);
        }
        return checked.then(
          (valid: unknown) => {
            run.payload = valid;
            return next(run);
          },
          (error: unknown) => {
            throw asValidationError(contract.name, error);
          },
        );
      },
  };
}

function asValidationError(name: string, error: unknown): ValidationError {
  if (error instanceof ValidationError) return error;
  return new ValidationError(name, [`the schema threw: ${error instanceof Error ? error.message : String(error)}`]);
}
