/**
 * @module memory-blob-store
 * BlobStore in process memory, for unit tests of the storage core and of whatever sits on it.
 * It passes the same contract suite as the real backends (test/contract/blob-store.contract.ts):
 * create-only, identical/conflict by SHA-256. Nothing is durable; `location` is memory://<key>.
 */
import { AppError } from "../../shared/errors";
import { type CheckedRef, parseBlobKey } from "../core/blob-ref";
import {
  type BlobData,
  type BlobHead,
  type BlobStore,
  type CheckedPut,
  type DeleteOptions,
  type ListPage,
  type ListQuery,
  type PutResult,
  outcomeForExisting,
} from "../core/blob-store";

interface Stored {
  data: Uint8Array;
  sha256Hex: string;
  /** Unix epoch ms of the write. */
  modifiedAtMs: number;
}

export class MemoryBlobStore implements BlobStore {
  readonly backend = "memory";
  private readonly blobs = new Map<string, Stored>();

  /** How many blobs are stored (for tests). */
  get size(): number {
    return this.blobs.size;
  }

  async write(put: CheckedPut): Promise<PutResult> {
    const location = `memory://${put.key}`;
    const existing = this.blobs.get(put.key);
    if (existing) return { outcome: outcomeForExisting(existing.sha256Hex, put.sha256Hex), location };
    // A copy: the caller's buffer may be reused once the put is answered.
    this.blobs.set(put.key, { data: put.data.slice(), sha256Hex: put.sha256Hex, modifiedAtMs: Date.now() });
    return { outcome: "created", location };
  }

  async get(at: CheckedRef): Promise<BlobData> {
    const b = this.blobs.get(at.key);
    if (!b) throw new AppError("NOT_FOUND", "no such blob");
    return { data: b.data.slice(), sha256Hex: b.sha256Hex };
  }

  async head(at: CheckedRef): Promise<BlobHead | null> {
    const b = this.blobs.get(at.key);
    return b ? { size: b.data.byteLength, sha256Hex: b.sha256Hex, location: `memory://${at.key}` } : null;
  }

  async delete(at: CheckedRef, opts: DeleteOptions = {}): Promise<boolean> {
    const b = this.blobs.get(at.key);
    if (b && opts.unmodifiedSinceMs !== undefined && b.modifiedAtMs > opts.unmodifiedSinceMs) return false;
    return this.blobs.delete(at.key);
  }

  async list(q: ListQuery): Promise<ListPage> {
    const base = q.sessionId ? `${q.sessionId}/` : "";
    const keys = [...this.blobs.keys()].filter((k) => k.startsWith(base) && k > q.after).sort();
    const page = keys.slice(0, q.pageSize);
    const blobs = page.map((key) => {
      const b = this.blobs.get(key)!;
      return { at: parseBlobKey(key)!, size: b.data.byteLength, modifiedAtMs: b.modifiedAtMs };
    });
    return { blobs, next: keys.length > q.pageSize ? page[page.length - 1]! : "" };
  }

  /** Sets a blob's modification time (tests of age-based decisions). */
  touch(key: string, modifiedAtMs: number): void {
    const b = this.blobs.get(key);
    if (b) b.modifiedAtMs = modifiedAtMs;
  }

  async ready(): Promise<boolean> {
    return true;
  }

  describe(): Record<string, unknown> {
    return {};
  }

  close(): void {}
}
