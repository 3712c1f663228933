import type { TransactionalInbox } from '../resilience/stores.js';
import type { Handler, HandlerContext } from './types.js';

/**
 * Wrap a handler registered with `transactionalInbox`: each run opens a transaction of the
 * inbox's database that also records (handler id, message id), gives the handler that
 * transaction as `context.transaction`, and commits both together. A message already recorded
 * (a redelivery after a crash) does not run the handler again: it counts as handled, and is
 * logged at debug level.
 */
export function transactionalHandler(id: string, inbox: TransactionalInbox, invoke: Handler): Handler {
  return async (payload, context) => {
    const ran = await inbox.runOnce(id, context.headers.id, async (transaction) => {
      await invoke(payload, withTransaction(context, transaction));
    });
    if (!ran)
      context.logger.debug({ handler: id, messageId: context.headers.id }, 'already handled (transactional inbox)');
  };
}

/** The same context with `transaction` set; every other member is the original's, bound to it. */
function withTransaction(context: HandlerContext, transaction: unknown): HandlerContext {
  return new Proxy(context, {
    get(target, key) {
      if (key === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
