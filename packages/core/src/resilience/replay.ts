import type { Dispatcher } from '../bus/dispatcher.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { readdress } from './failures.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from './stores.js';

/**
 * Replay one dead letter: re-send the original bytes through `dispatcher` (the
 * one send path, origin `replay`) to the service it failed in — its channel in
 * the service map — addressed to the handler that failed (or to every handler when none
 * was chosen), attempt counter reset; then delete the record. Rejects with
 * SY_NOT_FOUND for an unknown id. A crash between send and delete replays it
 * twice; the inbox removes the duplicate.
 */
export async function replayDeadLetter(
  store: DeadLetterStore,
  id: string,
  dispatcher: Pick<Dispatcher, 'dispatch'>,
): Promise<DeadLetterRecord> {
  const record = await store.get(id);
  if (!record) throw new SwitchyardError(ErrorCode.NotFound, `no dead letter with id '${id}'`);
  const message = readdress(record.message, {
    ...(record.handler !== undefined ? { handler: record.handler } : {}),
    attempt: 1,
  });
  await dispatcher.dispatch({ destination: { kind: 'send', service: record.service }, message }, 'replay');
  await store.delete(record.id);
  return record;
}

/** Replay every dead letter matching `filter`, oldest first; resolves with the replayed records. Stops at the first failure. */
export async function replayDeadLetters(
  store: DeadLetterStore,
  filter: DeadLetterFilter,
  dispatcher: Pick<Dispatcher, 'dispatch'>,
): Promise<DeadLetterRecord[]> {
  const replayed: DeadLetterRecord[] = [];
  for (const record of await store.list(filter)) replayed.push(await replayDeadLetter(store, record.id, dispatcher));
  return replayed;
}
