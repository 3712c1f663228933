/**
 * A growable ring buffer used as the channel queue: O(1) push and shift at
 * both ends, so a backlog of millions never pays for `Array#shift` copying.
 * Not thread-safe (JavaScript has none to worry about); not exported publicly.
 */
export class Deque<T> {
  #buffer: Array<T | undefined> = new Array(16);
  #mask = 15;
  #head = 0;
  #size = 0;

  /** Items held. */
  get length(): number {
    return this.#size;
  }

  /** Append at the back. */
  push(item: T): void {
    if (this.#size === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Insert at the front. */
  unshift(item: T): void {
    if (this.#size === this.#buffer.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buffer[this.#head] = item;
    this.#size++;
  }

  /** Remove and return the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buffer[this.#head];
    this.#buffer[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** Swap the items at positions `a` and `b` from the front (both must be < length). */
  swap(a: number, b: number): void {
    const i = (this.#head + a) & this.#mask;
    const j = (this.#head + b) & this.#mask;
    const item = this.#buffer[i];
    this.#buffer[i] = this.#buffer[j];
    this.#buffer[j] = item;
  }

  #grow(): void {
    const old = this.#buffer;
    const next: Array<T | undefined> = new Array(old.length * 2);
    for (let n = 0; n < this.#size; n++) next[n] = old[(this.#head + n) & this.#mask];
    this.#buffer = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}
