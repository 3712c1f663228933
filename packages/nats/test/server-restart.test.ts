import { testMessage, waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { canStartServer, NATS_SERVER_BIN, OwnServer } from './own-server.js';

const TOTAL = 3_000;
const BATCH = 50;

if (!canStartServer) {
  const reason = `no nats-server binary at ${NATS_SERVER_BIN}`;
  if (process.env.SWITCHYARD_REQUIRE_BROKERS === '1') throw new Error(`${reason} (SWITCHYARD_REQUIRE_BROKERS=1)`);
  console.warn(`[switchyard] skipping the NATS server-restart test: ${reason}`);
}

describe.runIf(canStartServer)('nats server crash and restart', () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await OwnServer.create();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the server is killed (SIGKILL) and restarted twice mid-flow: every stored message arrives, the consumer resumes by itself', async () => {
    const options = { url: server.url, prefix: 'restart', ackWaitMs: 2_000, pullExpiresMs: 2_000 };
    const sender = new NatsTransport(options);
    const receiver = new NatsTransport(options);
    const seen = new Set<string>();
    let rejectedSends = 0;
    try {
      await sender.provision({ channels: [{ name: 'inbox', subscriptions: [] }] });
      await receiver.consume(
        'inbox',
        async (d) => {
          seen.add(d.message.id);
          await d.ack();
        },
        { concurrency: 16, prefetch: 100 },
      );
      const restarts: Array<Promise<void>> = [];
      for (let b = 0; b < TOTAL / BATCH; b++) {
        if (b === 15 || b === 40) restarts.push(server.kill().then(() => server.start()));
        const batch = Array.from({ length: BATCH }, (_, i) => testMessage({ seq: b * BATCH + i }));
        for (let attempt = 0; ; attempt++) {
          expect(attempt, 'resending a rejected batch').toBeLessThan(20);
          try {
            await sender.send('inbox', batch);
            break;
          } catch {
            // Rejected while the server was down (never resolved without being stored): resend, as core would.
            rejectedSends++;
          }
        }
      }
      await Promise.all(restarts);
      await waitFor(
        () => seen.size === TOTAL,
        () => `${TOTAL} messages (have ${seen.size})`,
        60_000,
      );
      console.log(
        `[nats server restart] distinct=${seen.size} lost=${TOTAL - seen.size} rejected-sends=${rejectedSends}`,
      );
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
    }
  }, 120_000);
});
