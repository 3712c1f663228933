import secureJson from 'secure-json-parse';
import { describeError, ErrorCode, PoisonMessageError } from '../errors.js';

/**
 * Parse untrusted JSON. Rejects (with a PoisonMessageError, code `SY_DECODE`)
 * truncated input and any object that carries `__proto__` or
 * `constructor.prototype` keys, so that no payload can pollute prototypes.
 */
export function safeParseJson(text: string): unknown {
  try {
    // Every dangerous key spells 'proto' or 'constructor', or hides it behind a \u escape. Text with none
    // of the three cannot pollute anything, so it skips secure-json-parse's scans of the whole text.
    if (!text.includes('proto') && !text.includes('constructor') && !text.includes('\\u')) return JSON.parse(text);
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw new PoisonMessageError(ErrorCode.Decode, `payload is not safe JSON: ${describeError(error)}`, {
      cause: error,
    });
  }
}
