import type { DeadLetterRecord } from '@switchyard/core';

/** A dead letter as printed by `--json`: the record with its body as text (or base64 when it is not UTF-8). */
export interface DeadLetterJson {
  readonly id: string;
  readonly messageId: string;
  readonly messageName: string;
  readonly service: string;
  readonly handler: string | null;
  readonly channel: string;
  readonly reason: { readonly code: string; readonly message: string; readonly stack?: string };
  readonly attempts: number;
  readonly firstAttemptAt: string;
  readonly deadLetteredAt: string;
  readonly message: {
    readonly id: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly bodyBase64?: string;
    readonly key?: string;
    readonly deliverAt?: number;
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as UTF-8 text, or undefined when it is not valid UTF-8. */
export function bodyText(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/** The JSON form of a record (stack included only when `withStack`). */
export function toJson(record: DeadLetterRecord, withStack: boolean): DeadLetterJson {
  const text = bodyText(record.message.body);
  const { stack, ...reason } = record.reason;
  return {
    id: record.id,
    messageId: record.messageId,
    messageName: record.messageName,
    service: record.service,
    handler: record.handler ?? null,
    channel: record.channel,
    reason: withStack && stack !== undefined ? { ...reason, stack } : reason,
    attempts: record.attempts,
    firstAttemptAt: record.firstAttemptAt,
    deadLetteredAt: record.deadLetteredAt,
    message: {
      id: record.message.id,
      headers: record.message.headers,
      ...(text !== undefined ? { body: text } : { bodyBase64: Buffer.from(record.message.body).toString('base64') }),
      ...(record.message.key !== undefined ? { key: record.message.key } : {}),
      ...(record.message.deliverAt !== undefined ? { deliverAt: record.message.deliverAt } : {}),
    },
  };
}

/** Rows as an aligned text table; the last column is never padded. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const render = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

/** One line of `dlq list`; `now` (epoch ms) gives the age. */
export function listRow(record: DeadLetterRecord, now: number = Date.now()): string[] {
  return [
    record.id,
    record.service,
    record.messageName,
    record.handler ?? '-',
    record.reason.code,
    truncate(record.reason.message, 60),
    String(record.attempts),
    age(now - Date.parse(record.deadLetteredAt)),
  ];
}

/** Column titles of `dlq list` as a table, in the order of the row cells. */
export const LIST_HEADER = ['ID', 'SERVICE', 'TYPE', 'HANDLER', 'CODE', 'ERROR', 'ATTEMPTS', 'AGE'] as const;

/** A duration as its largest unit: `42s`, `5m`, `3h`, `12d` (`0s` for the future). */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The lines of `dlq show`. */
export function details(record: DeadLetterRecord): string[] {
  const lines = [
    `id:               ${record.id}`,
    `message:          ${record.messageName} (id ${record.messageId})`,
    `service:          ${record.service}`,
    `handler:          ${record.handler ?? '(none chosen: the message could not be decoded or routed)'}`,
    `channel:          ${record.channel}`,
    `attempts:         ${record.attempts}`,
    `first attempt at: ${record.firstAttemptAt}`,
    `dead-lettered at: ${record.deadLetteredAt}`,
    `reason:           ${record.reason.code}: ${record.reason.message}`,
  ];
  if (record.reason.stack) lines.push('stack:', ...record.reason.stack.split('\n').map((line) => `  ${line.trim()}`));
  lines.push('headers:');
  for (const [name, value] of Object.entries(record.message.headers).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name}: ${value}`);
  }
  if (record.message.key !== undefined) lines.push(`key: ${record.message.key}`);
  const text = bodyText(record.message.body);
  if (text === undefined) {
    lines.push(
      `body (${record.message.body.byteLength} bytes, base64):`,
      `  ${Buffer.from(record.message.body).toString('base64')}`,
    );
  } else {
    lines.push(
      'body:',
      ...pretty(text)
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  return lines;
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
