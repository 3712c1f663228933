import type { Ledger, Totals } from './ledger.js';

/** What the summary needs. */
export interface SummaryInput {
  readonly say: (text: string) => void;
  readonly ledger: Ledger;
  readonly totals: Totals;
  readonly orders: number;
  readonly seconds: number;
  readonly url: string;
  readonly dbPath: string;
  readonly configPath: string;
  /** How to run the `switchyard` CLI from here. */
  readonly cli: string;
}

/** Print the run's summary, one line each; the caller prints the JSON line after it. */
export function printSummary(input: SummaryInput): void {
  const { say, ledger, totals } = input;
  const byName = Object.entries(ledger.sentByName())
    .map(([name, count]) => `${count} ${name}`)
    .join(', ');
  say(`── summary: ${input.orders} orders in ${input.seconds.toFixed(1)} s on ${input.url}`);
  say(`sent          ${totals.sent} messages (${byName})`);
  say(`handled       ${totals.handled} handler runs`);
  say(`retried       ${totals.retried} delayed retries`);
  say(`dead-lettered ${totals.deadLettered}, kept in ${input.dbPath}`);
  const strangers = ledger.strangers();
  if (strangers > 0) say(`ignored       ${strangers} messages left over from an earlier run`);
  say(
    `lost          ${totals.lost} (every sent id checked against the handled and dead-lettered reports and the dead-letter store)`,
  );
  say(`inspect the dead letters: ${input.cli} dlq list --config ${input.configPath}`);
}
