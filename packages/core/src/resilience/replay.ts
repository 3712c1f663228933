import { ErrorCode, SwitchyardError } from '../errors.js';
import type { Transport } from '../transport/types.js';
import { readdress } from './failures.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from './stores.js';

/** Finds the transport that serves a dead letter's service. */
export type TransportFor = (record: DeadLetterRecord) => Promise<Transport>;

/**
 * Replay one dead letter: re-send the original bytes to the channel it came
 * from, addressed to the handler that failed (or to every handler when none
 * was chosen), attempt counter reset; then delete the record. Rejects with
 * SY_NOT_FOUND for an unknown id. A crash between send and delete replays it
 * twice; the inbox removes the duplicate.
 */
export async function replayDeadLetter(
  store: DeadLetterStore,
  id: string,
  transportFor: TransportFor,
): Promise<DeadLetterRecord> {
  const record = await store.get(id);
  if (!record) throw new SwitchyardError(ErrorCode.NotFound, `no dead letter with id '${id}'`);
  const message = readdress(record.message, {
    ...(record.handler !== undefined ? { handler: record.handler } : {}),
    attempt: 1,
  });
  const transport = await transportFor(record);
  await transport.send(record.channel, [message]);
  await store.delete(record.id);
  return record;
}

/** Replay every dead letter matching `filter`, oldest first; resolves with the replayed records. Stops at the first failure. */
export async function replayDeadLetters(
  store: DeadLetterStore,
  filter: DeadLetterFilter,
  transportFor: TransportFor,
): Promise<DeadLetterRecord[]> {
  const replayed: DeadLetterRecord[] = [];
  for (const record of await store.list(filter)) replayed.push(await replayDeadLetter(store, record.id, transportFor));
  return replayed;
}
