import { describe, expect, it } from 'vitest';
import { fromStructured, toStructured } from './structured.js';

describe('toStructured / fromStructured', () => {
  const base = {
    'ce-specversion': '1.0',
    'ce-id': 'id-1',
    'ce-type': 'order.placed',
    'ce-source': 'orders',
    'content-type': 'application/json',
  };

  it('round-trips every ce- attribute and leaves other headers out of the document', () => {
    const message = { id: 'id-1', headers: { ...base, 'sy-key': 'k' }, body: Buffer.from('{"a":1}') };
    const document = JSON.parse(Buffer.from(toStructured(message)).toString('utf8'));
    expect(document).toEqual({
      specversion: '1.0',
      id: 'id-1',
      type: 'order.placed',
      source: 'orders',
      datacontenttype: 'application/json',
      data: { a: 1 },
    });
    expect(fromStructured(toStructured(message)).headers).toEqual(base);
  });

  it('maps names past the remembered ones as it maps the first (hundreds of distinct extensions)', () => {
    // More distinct names than the name cache keeps (256): the ones beyond it are computed each time.
    for (let round = 0; round < 3; round++) {
      const extensions = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`ce-ext${round}x${i}`, `v${i}`]));
      const headers = { ...base, ...extensions };
      const back = fromStructured(toStructured({ id: 'id-1', headers, body: Buffer.from('{}') }));
      expect(back.headers).toEqual(headers);
    }
  });
});
