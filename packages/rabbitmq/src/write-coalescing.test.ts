import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ChannelModel } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { coalesceWrites } from './write-coalescing.js';

const require = createRequire(import.meta.url);

describe('coalesceWrites', () => {
  it("applies to the amqplib this package uses: its multiplexer's writes happen between cork and uncork", () => {
    // The driver's own Connection class over an in-memory stream: no broker needed.
    // Not exported: loaded by file path next to the package's entry point.
    const { Connection } = require(join(dirname(require.resolve('amqplib')), 'lib/connection.js')) as {
      Connection: new (stream: unknown) => unknown;
    };
    const stream = new PassThrough();
    const connection = new Connection(stream) as {
      stream: PassThrough;
      muxer: { _readIncoming: () => void; out: { write: (chunk: Buffer) => boolean } };
    };
    const calls: string[] = [];
    vi.spyOn(connection.stream, 'cork').mockImplementation(() => calls.push('cork'));
    vi.spyOn(connection.stream, 'uncork').mockImplementation(() => calls.push('uncork'));
    vi.spyOn(connection.muxer.out, 'write').mockImplementation(() => calls.push('write') > 0);
    const upstream = new PassThrough({ objectMode: true });
    upstream.write(Buffer.from('a'));
    upstream.write(Buffer.from('b'));
    (connection.muxer as unknown as { newStreams: unknown[] }).newStreams.push(upstream);

    expect(coalesceWrites({ connection } as unknown as ChannelModel)).toBe(true);
    connection.muxer._readIncoming();

    expect(calls).toEqual(['cork', 'write', 'write', 'uncork']);
  });

  it('changes nothing and says so when the internals are not there', () => {
    expect(coalesceWrites({} as ChannelModel)).toBe(false);
    expect(coalesceWrites({ connection: { muxer: {} } } as unknown as ChannelModel)).toBe(false);
  });

  it('wraps a connection once however often it is called', () => {
    const drain = vi.fn();
    const stream = { cork: vi.fn(), uncork: vi.fn() };
    const connection = { stream, muxer: { _readIncoming: drain } };
    const model = { connection } as unknown as ChannelModel;
    coalesceWrites(model);
    coalesceWrites(model);
    connection.muxer._readIncoming();
    expect(drain).toHaveBeenCalledTimes(1);
    expect(stream.cork).toHaveBeenCalledTimes(1);
  });
});
