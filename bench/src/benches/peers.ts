import type { BenchArgs, BenchLine } from '../bench-line.js';

export async function benchPeers(_args: BenchArgs): Promise<BenchLine[]> {
  throw new Error('todo');
}
