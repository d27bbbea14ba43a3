/**
 * @module outbox-store
 * Where captured blobs wait until the gateway acks them. `IdbOutboxStore` keeps them in
 * IndexedDB so a page reload or a browser crash loses nothing already captured; the in-memory
 * `Outbox` only tracks metadata and loads a blob right before sending it.
 *
 * Layout (database "candid-capture", version 1):
 *   items    key [sessionId, kind, index] → StoredItem (blob included; Chromium keeps it on disk)
 *   sessions key sessionId               → SessionRecord (next indices and the upload token, so a
 *                                          reload resumes and an orphan uploads with it; also
 *                                          the unacked capture_events, a few small objects)
 * An item and its session's counters are written in one transaction, so after a crash the
 * counters never point past an item that was not stored, nor before one that was.
 *
 * `openOutboxStore()` picks IndexedDB, or memory where it cannot open; `FallbackOutboxStore`
 * wraps the chosen one so that a write failing later (quota, a broken database) moves new items
 * to memory instead of losing them.
 */
import type { StoredCaptureEvent } from './capture-events.ts';
import type { BlobKind } from './wire.ts';

export interface StoredItem {
  sessionId: string;
  kind: BlobKind;
  index: number;
  size: number;
  /** JSON metadata message sent before the blob */
  meta: Record<string, unknown>;
  blob: Blob;
}

export type StoredItemInfo = Omit<StoredItem, 'blob'>;

export interface SessionRecord {
  sessionId: string;
  interviewSessionId: number;
  userId?: number;
  /**
   * The upload token this session is sent with (session_init), kept with the session so a reload
   * or an orphan upload of it reuses it; absent in records written before tokens existed.
   */
  token?: string;
  /** when the token expires (ISO 8601), as the server said when minting it */
  tokenExpiresAt?: string;
  /** chunk_index the next audio chunk gets = audio chunks captured so far */
  nextChunkIndex: number;
  /** frame_index the next frame gets = frames captured so far */
  nextFrameIndex: number;
  /** items the gateway refused for good */
  failedChunks: number;
  failedFrames: number;
  /** event_index the page's next capture_event gets (absent in older records: 0) */
  nextEventIndex?: number;
  /** capture_events not yet acked by the gateway (capture-events.ts), resent after a reload */
  captureEvents?: StoredCaptureEvent[];
  /** recording: capture may still add items; stopped: totals final, session_complete still due */
  state: 'recording' | 'stopped';
  updatedAt: number;
}

export interface OutboxStore {
  /** Stores an item and, atomically, the session counters that account for it. */
  putItem(item: StoredItem, session: SessionRecord): Promise<void>;
  getBlob(sessionId: string, kind: BlobKind, index: number): Promise<Blob | undefined>;
  deleteItem(sessionId: string, kind: BlobKind, index: number): Promise<void>;
  listItems(sessionId: string): Promise<StoredItemInfo[]>;
  putSession(session: SessionRecord): Promise<void>;
  listSessions(): Promise<SessionRecord[]>;
  deleteSession(sessionId: string): Promise<void>;
}

/** For browsers without IndexedDB (or when it fails, e.g. some private modes): nothing survives a reload. */
export class MemoryOutboxStore implements OutboxStore {
  private items = new Map<string, StoredItem>();
  private sessions = new Map<string, SessionRecord>();
  private key = (s: string, k: BlobKind, i: number) => `${s}|${k}|${i}`;
  async putItem(item: StoredItem, session: SessionRecord) {
    this.items.set(this.key(item.sessionId, item.kind, item.index), item);
    this.sessions.set(session.sessionId, { ...session });
  }
  async getBlob(s: string, k: BlobKind, i: number) {
    return this.items.get(this.key(s, k, i))?.blob;
  }
  async deleteItem(s: string, k: BlobKind, i: number) {
    this.items.delete(this.key(s, k, i));
  }
  async listItems(sessionId: string) {
    return [...this.items.values()].filter((it) => it.sessionId === sessionId).map(({ blob: _b, ...info }) => info);
  }
  async putSession(session: SessionRecord) {
    this.sessions.set(session.sessionId, { ...session });
  }
  async listSessions() {
    return [...this.sessions.values()].map((s) => ({ ...s }));
  }
  async deleteSession(sessionId: string) {
    this.sessions.delete(sessionId);
  }
}

const DB_NAME = 'candid-capture';

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((res, rej) => {
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((res, rej) => {
    tx.oncomplete = () => res();
    tx.onerror = () => rej(tx.error);
    tx.onabort = () => rej(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class IdbOutboxStore implements OutboxStore {
  private constructor(private db: IDBDatabase) {}

  static async open(name = DB_NAME): Promise<IdbOutboxStore> {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      const items = db.createObjectStore('items', { keyPath: ['sessionId', 'kind', 'index'] });
      items.createIndex('bySession', 'sessionId');
      db.createObjectStore('sessions', { keyPath: 'sessionId' });
    };
    return new IdbOutboxStore(await req(r));
  }

  async putItem(item: StoredItem, session: SessionRecord) {
    const tx = this.db.transaction(['items', 'sessions'], 'readwrite', { durability: 'strict' } as IDBTransactionOptions);
    tx.objectStore('items').put(item);
    tx.objectStore('sessions').put(session);
    await done(tx);
  }

  async getBlob(sessionId: string, kind: BlobKind, index: number) {
    const tx = this.db.transaction('items', 'readonly');
    const rec = (await req(tx.objectStore('items').get([sessionId, kind, index]))) as StoredItem | undefined;
    return rec?.blob;
  }

  async deleteItem(sessionId: string, kind: BlobKind, index: number) {
    const tx = this.db.transaction('items', 'readwrite');
    tx.objectStore('items').delete([sessionId, kind, index]);
    await done(tx);
  }

  async listItems(sessionId: string) {
    const tx = this.db.transaction('items', 'readonly');
    const all = (await req(tx.objectStore('items').index('bySession').getAll(sessionId))) as StoredItem[];
    return all.map(({ blob: _b, ...info }) => info);
  }

  async putSession(session: SessionRecord) {
    const tx = this.db.transaction('sessions', 'readwrite');
    tx.objectStore('sessions').put(session);
    await done(tx);
  }

  async listSessions() {
    const tx = this.db.transaction('sessions', 'readonly');
    return (await req(tx.objectStore('sessions').getAll())) as SessionRecord[];
  }

  async deleteSession(sessionId: string) {
    const tx = this.db.transaction(['sessions', 'items'], 'readwrite');
    tx.objectStore('sessions').delete(sessionId);
    await done(tx);
  }
}

/** IndexedDB when it opens, memory otherwise (`durable` says which). */
export async function openOutboxStore(): Promise<{ store: OutboxStore; durable: boolean }> {
  try {
    if (typeof indexedDB === 'undefined') throw new Error('no IndexedDB');
    return { store: await IdbOutboxStore.open(), durable: true };
  } catch {
    return { store: new MemoryOutboxStore(), durable: false };
  }
}

/**
 * Writes through `primary` until one of its writes fails, then keeps new items in memory so
 * capture goes on (they will not survive a reload). Items already in `primary` stay readable and
 * deletable there; session records still go to `primary` when it accepts them. `onFallback` is
 * told about every failed write to `primary`. A memory `primary` is simply retried: there is no
 * better place to fall back to.
 */
export class FallbackOutboxStore implements OutboxStore {
  private memory: MemoryOutboxStore | null = null;

  constructor(
    readonly primary: OutboxStore,
    private readonly onFallback: (err: Error) => void = () => {},
  ) {}

  async putItem(item: StoredItem, session: SessionRecord) {
    if (this.memory) return this.memory.putItem(item, session);
    try {
      await this.primary.putItem(item, session);
    } catch (e) {
      this.onFallback(e as Error);
      if (!(this.primary instanceof MemoryOutboxStore)) this.memory = new MemoryOutboxStore();
      await (this.memory ?? this.primary).putItem(item, session);
    }
  }

  async getBlob(s: string, k: BlobKind, i: number) {
    if (!this.memory) return this.primary.getBlob(s, k, i);
    return (await this.memory.getBlob(s, k, i)) ?? this.primary.getBlob(s, k, i).catch(() => undefined);
  }

  async deleteItem(s: string, k: BlobKind, i: number) {
    if (!this.memory) return this.primary.deleteItem(s, k, i);
    await this.memory.deleteItem(s, k, i);
    await this.primary.deleteItem(s, k, i).catch(() => {});
  }

  listItems(sessionId: string) {
    return (this.memory ?? this.primary).listItems(sessionId);
  }

  putSession(session: SessionRecord) {
    const mem = this.memory;
    return mem ? this.primary.putSession(session).catch(() => mem.putSession(session)) : this.primary.putSession(session);
  }

  listSessions() {
    return (this.memory ?? this.primary).listSessions();
  }

  deleteSession(sessionId: string) {
    const mem = this.memory;
    return mem ? this.primary.deleteSession(sessionId).catch(() => mem.deleteSession(sessionId)) : this.primary.deleteSession(sessionId);
  }
}
