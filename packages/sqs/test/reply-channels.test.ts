import type { ReplyChannels } from '@switchyard/core/transport';
import { runReplyChannelSuite } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, queueExists, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const exists = (url: string) => queueExists(emulator, url);

const transport = (queuePrefix: string) => new SqsTransport({ ...emulatorConfig(emulator), queuePrefix });

runReplyChannelSuite({
  name: 'SQS (fauxqs)',
  probe: () => new SqsTransport(emulatorConfig(emulator)).ping(),
  createTransport: () => transport(`sy-rr-${suffix()}-`),
  exists,
});

describe('SQS reply queues after a crash', () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("deletes, on open, another instance's reply queue whose heartbeat is older than its expireAfterMs, and keeps a live one", async () => {
    const prefix = `sy-rr-${suffix()}-`;
    const crashed = transport(prefix);
    const live = transport(prefix);
    const next = transport(prefix);
    const ignore = async () => undefined;
    const gone = await (crashed.replies as ReplyChannels).open('crashed', ignore, { expireAfterMs: 300 });
    const alive = await (live.replies as ReplyChannels).open('live', ignore, { expireAfterMs: 300 });
    // A crash: the transport goes away, its heartbeat stops, the queue stays.
    await crashed.close();
    expect(await exists(gone.address)).toBe(true);
    // Time has to pass: more than expireAfterMs since the crashed queue's last heartbeat, while the live one beats on.
    await pause(600);
    // Its own expireAfterMs is long: what counts is the expiry each queue was opened with.
    const own = await (next.replies as ReplyChannels).open('next', ignore, { expireAfterMs: 60_000 });
    expect(await exists(gone.address)).toBe(false);
    expect(await exists(alive.address)).toBe(true);
    await Promise.all([alive.close(), own.close()]);
    await Promise.all([live.close(), next.close()]);
  });
});
