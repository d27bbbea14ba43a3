/**
 * @module pending
 * Metadata waiting for its blob, per connection. Bounded (a client may announce at most `max`
 * items ahead of their blobs) and expiring (an entry older than `ttlMs` is dropped, so a client
 * that announced and vanished costs nothing). Re-announcing an index replaces the old entry.
 */
import type { BlobKind } from "../../../proto/wire";

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class PendingMetadata<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** False when full (after expiring stale entries) and the key is new. */
  put(kind: BlobKind, index: number, value: T): boolean {
    const key = `${kind}:${index}`;
    if (!this.entries.has(key) && this.entries.size >= this.max) {
      this.expire();
      if (this.entries.size >= this.max) return false;
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    return true;
  }

  /** The entry, if present and fresh; does not remove it. */
  get(kind: BlobKind, index: number): T | undefined {
    const key = `${kind}:${index}`;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  delete(kind: BlobKind, index: number): void {
    this.entries.delete(`${kind}:${index}`);
  }

  expire(): number {
    const t = this.now();
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= t) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.entries.clear();
  }
}
