import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decode, type Envelope, encode, fromStructured, toStructured } from '../src/index.js';

/** The golden vectors live in docs/wire-format.md, so the document and the code cannot drift apart. */
const doc = readFileSync(fileURLToPath(new URL('../../../docs/wire-format.md', import.meta.url)), 'utf8');
const vectors = new Map<string, string>();
for (const match of doc.matchAll(/```json vector:([\w-]+)\n([\s\S]*?)```/g))
  vectors.set(match[1] as string, match[2] as string);

interface BinaryVector {
  envelope: Envelope;
  headers: Record<string, string>;
  body: string;
}

const binary = (name: string) => JSON.parse(vectors.get(name) ?? 'null') as BinaryVector;
const text = new TextDecoder();

describe('wire format golden vectors (docs/wire-format.md)', () => {
  it('finds the nine vectors in the document', () => {
    expect([...vectors.keys()].sort()).toEqual([
      'command-binary',
      'command-structured',
      'ecotone-command',
      'ecotone-event',
      'ecotone-kafka-command',
      'ecotone-kafka-event',
      'ecotone-sqs-command',
      'ecotone-sqs-event',
      'event-binary',
    ]);
  });

  for (const name of ['command-binary', 'event-binary']) {
    it(`${name}: encodes to exactly the documented headers and body, and decodes back`, () => {
      const vector = binary(name);
      const message = encode(vector.envelope);
      expect(message.headers).toEqual(vector.headers);
      expect(Object.keys(message.headers)).toEqual(Object.keys(vector.headers));
      expect(text.decode(message.body)).toBe(vector.body);
      expect(message.id).toBe(vector.envelope.headers.id);
      const decoded = decode(
        { id: message.id, headers: vector.headers, body: new TextEncoder().encode(vector.body) },
        1024 * 1024,
      );
      expect(decoded).toEqual(vector.envelope);
    });
  }

  it('command-structured: the structured document is byte-exact and converts back losslessly', () => {
    const message = encode(binary('command-binary').envelope);
    const structured = toStructured(message);
    expect(text.decode(structured)).toBe((vectors.get('command-structured') ?? '').trim());
    const back = fromStructured(structured);
    expect(back.headers).toEqual(message.headers);
    expect(text.decode(back.body)).toBe(text.decode(message.body));
  });
});
