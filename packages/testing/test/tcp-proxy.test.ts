import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy, waitFor } from '../src/index.js';

/** An echo server as the "broker". */
let echo: Server;
let port = 0;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  port = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

async function connect(proxy: TcpProxy): Promise<{ socket: Socket; received: () => string }> {
  const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  await once(socket, 'connect');
  return { socket, received: () => text };
}

describe('TcpProxy', () => {
  it('forwards bytes both ways, and cut() closes every open connection', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    const { socket, received } = await connect(proxy);
    socket.write('hello');
    await waitFor(() => received() === 'hello', 'the echo', 2_000);
    const closed = once(socket, 'close');
    proxy.cut();
    await closed;
    expect(proxy.open).toBe(0);
    await proxy.close();
  });

  it('refuse() makes new connections fail with ECONNREFUSED until restore(), on the same port', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    const before = proxy.port;
    await proxy.refuse();
    const refused = createConnection({ host: '127.0.0.1', port: before });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    await proxy.restore();
    expect(proxy.port).toBe(before);
    const { socket, received } = await connect(proxy);
    socket.write('back');
    await waitFor(() => received() === 'back', 'the echo after restore', 2_000);
    socket.destroy();
    await proxy.close();
  });

  it('stall() holds bytes without closing anything; restore() delivers them', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    const { socket, received } = await connect(proxy);
    proxy.stall();
    socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a negative check: nothing may arrive meanwhile
    expect(received()).toBe('');
    expect(proxy.open).toBe(1);
    await proxy.restore();
    await waitFor(() => received() === 'held', 'the held bytes', 2_000);
    socket.destroy();
    await proxy.close();
  });

  it('refuse(ms) restores by itself after ms', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    await proxy.refuse(200);
    let listening = false;
    const probe = async () => {
      const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
      socket.on('error', () => undefined);
      const [outcome] = await Promise.race([once(socket, 'connect').then(() => ['ok']), once(socket, 'error')]);
      socket.destroy();
      listening = outcome === 'ok';
    };
    await probe();
    expect(listening).toBe(false);
    const deadline = Date.now() + 3_000;
    while (!listening && Date.now() < deadline) await probe();
    expect(listening).toBe(true);
    await proxy.close();
  });

  it('loseNextReply() discards the next reply and closes that connection; later replies flow', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port });
    const first = await connect(proxy);
    proxy.loseNextReply('lost');
    const closed = once(first.socket, 'close');
    first.socket.write('lost');
    await closed;
    expect(first.received()).toBe('');
    expect(proxy.repliesLost).toBe(1);
    const second = await connect(proxy);
    second.socket.write('kept');
    await waitFor(() => second.received() === 'kept', 'the next reply', 2_000);
    second.socket.destroy();
    await proxy.close();
  });
});
