import type { DeadLetterRetention, DeadLetterStore } from '@switchyard/core';
import { expect } from 'vitest';
import { deadLetterRecord } from './dead-letter-store-conformance.js';

/** The retention {@link retentionOnAddScenario} expects its store to be opened with. */
export const RETENTION_UNDER_TEST: DeadLetterRetention = { maxAgeMs: 60_000, maxCount: 3 };

/**
 * Scenario for a dead-letter store that enforces {@link RETENTION_UNDER_TEST} on every `add`
 * (an empty namespace of its own): a record dead-lettered two minutes ago is removed on the way,
 * three young ones stay, and a fourth removes the oldest of them; nothing else is removed.
 */
export async function retentionOnAddScenario(store: DeadLetterStore): Promise<void> {
  const now = Date.now();
  const at = (agoMs: number) => new Date(now - agoMs).toISOString();
  const old = deadLetterRecord(1, { deadLetteredAt: at(120_000) });
  const young = [2, 3, 4, 5].map((i) => deadLetterRecord(i, { deadLetteredAt: at(10_000 - i * 1_000) }));
  await store.add(old);
  for (const record of young.slice(0, 3)) await store.add(record);
  // The old one expired on the way; three young ones fit the count.
  expect((await store.list()).map((r) => r.id)).toEqual(young.slice(0, 3).map((r) => r.id));
  await store.add(young[3] as (typeof young)[number]);
  expect((await store.list()).map((r) => r.id)).toEqual(young.slice(1).map((r) => r.id));
}
