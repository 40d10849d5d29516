/**
 * A queue that workers drain while a producer is still filling it (clusters arrive page by page).
 * next() resolves undefined once the queue is closed and empty.
 */
export class WorkQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private waiters: Array<() => void> = [];

  push(...items: T[]): void {
    this.items.push(...items);
    this.wake();
  }

  /** No more items will come; waiting workers finish what is left, then get undefined. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Items never handed out (e.g. after a stop). */
  drain(): T[] {
    return this.items.splice(0);
  }

  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.items.length > 0) return this.items.shift();
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
