import type { IncomingMessage } from 'node:http';

/** A request body over the limit its reader was given; the request was drained or abandoned. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/**
 * The whole body of `request`, refused with a {@link BodyTooLargeError} as soon as it is known to
 * exceed `limit` bytes: from its `content-length` before reading (the rest is drained), or while
 * reading (the caller should then close the connection).
 */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(request.headers['content-length'] ?? 0) > limit) {
    request.resume();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
