/**
 * @module blob-store.contract
 * The one contract suite every BlobStore implementation must pass (tus `stores.ts` style), driven
 * through the storage core (putBlob, getBlob, headBlob, deleteBlob: validation included).
 * Call `blobStoreContract(name, factory)` from a `*.test.ts` file; the factory builds a fresh,
 * empty store and says how to clean it up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError, type ErrorCode } from "../../services/shared/errors";
import { type BlobRef, blobKey } from "../../services/storage/core/blob-ref";
import { type BlobStore, type ListedBlob, deleteBlob, getBlob, headBlob, listBlobs, putBlob } from "../../services/storage/core/blob-store";
import { sha256Hex } from "../../services/storage/core/checksum";

export interface ContractSubject {
  store: BlobStore;
  cleanup(): Promise<void>;
}

export function randomBytesOf(size: number, seed = Math.random()): Uint8Array {
  const out = new Uint8Array(size);
  // xorshift: fast, deterministic per seed, and different per call by default.
  let x = Math.floor(seed * 0xffffffff) | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function audioRef(index: number, sessionId = crypto.randomUUID(), mediaType = "audio/webm"): BlobRef {
  return { sessionId, kind: "audio", index, mediaType };
}

export function frameRef(index: number, sessionId = crypto.randomUUID()): BlobRef {
  return { sessionId, kind: "frame", index, mediaType: "image/jpeg" };
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | "NO_ERROR" | "NOT_APP_ERROR"> {
  try {
    await p;
    return "NO_ERROR";
  } catch (e) {
    return e instanceof AppError ? e.code : "NOT_APP_ERROR";
  }
}

export function blobStoreContract(name: string, factory: () => Promise<ContractSubject>) {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: BlobStore;
    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    const put = (ref: BlobRef, data: Uint8Array, sha = sha256Hex(data)) => putBlob(store, { ref, data, sha256Hex: sha });
    const get = (ref: BlobRef) => getBlob(store, ref);
    const head = (ref: BlobRef) => headBlob(store, ref);
    const del = (ref: BlobRef) => deleteBlob(store, ref);

    test("is ready", async () => {
      expect(await store.ready()).toBe(true);
    });

    test("put CREATED, then get and head return the same bytes", async () => {
      const ref = audioRef(0);
      const data = randomBytesOf(50 * 1024);
      const r = await put(ref, data);
      expect(r.outcome).toBe("created");
      expect(r.location.endsWith(blobKey(ref))).toBe(true);
      const got = await get(ref);
      expect(Buffer.from(got.data).equals(Buffer.from(data))).toBe(true);
      expect(got.sha256Hex).toBe(sha256Hex(data));
      expect(await head(ref)).toEqual({ size: data.byteLength, sha256Hex: sha256Hex(data), location: r.location });
    });

    test("re-put of the same bytes is IDENTICAL", async () => {
      const ref = frameRef(3);
      const data = randomBytesOf(9000);
      expect((await put(ref, data)).outcome).toBe("created");
      const again = await put(ref, data);
      expect(again.outcome).toBe("identical");
      expect(again.location.endsWith(blobKey(ref))).toBe(true);
    });

    test("put of different bytes is CONFLICT and keeps the original", async () => {
      const ref = audioRef(1);
      const original = randomBytesOf(4096);
      const other = randomBytesOf(4096);
      expect((await put(ref, original)).outcome).toBe("created");
      expect((await put(ref, other)).outcome).toBe("conflict");
      const got = await get(ref);
      expect(Buffer.from(got.data).equals(Buffer.from(original))).toBe(true);
      expect((await head(ref))?.sha256Hex).toBe(sha256Hex(original));
    });

    test("checksum mismatch is refused and writes nothing", async () => {
      const ref = audioRef(2);
      const data = randomBytesOf(1000);
      expect(await codeOf(put(ref, data, sha256Hex(randomBytesOf(1000))))).toBe("CHECKSUM_MISMATCH");
      expect(await head(ref)).toBeNull();
      // ...and the key is still free for the right bytes.
      expect((await put(ref, data)).outcome).toBe("created");
    });

    test("malformed sha256 is INVALID_MESSAGE", async () => {
      expect(await codeOf(put(audioRef(0), randomBytesOf(10), "abc"))).toBe("INVALID_MESSAGE");
    });

    test("invalid refs are refused before anything is written", async () => {
      const data = randomBytesOf(10);
      expect(await codeOf(put({ ...audioRef(0), sessionId: "../../etc" }, data))).toBe("INVALID_SESSION_ID");
      expect(await codeOf(put({ ...audioRef(0), sessionId: crypto.randomUUID().toUpperCase() }, data))).toBe("INVALID_SESSION_ID");
      expect(await codeOf(put({ ...audioRef(0), mediaType: "image/jpeg" }, data))).toBe("INVALID_MESSAGE");
      expect(await codeOf(put({ ...frameRef(0), mediaType: "audio/webm" }, data))).toBe("INVALID_MESSAGE");
      expect(await codeOf(put({ ...audioRef(0), index: -1 }, data))).toBe("INVALID_MESSAGE");
      expect(await codeOf(get({ ...audioRef(0), sessionId: "x" }))).toBe("INVALID_SESSION_ID");
    });

    test("layout and extension mapping", async () => {
      const sid = crypto.randomUUID();
      const cases: Array<[BlobRef, string]> = [
        [audioRef(0, sid, "audio/webm"), `${sid}/audio/chunk_0.webm`],
        [audioRef(1, sid, "audio/webm;codecs=opus"), `${sid}/audio/chunk_1.webm`],
        [audioRef(2, sid, "audio/mp4"), `${sid}/audio/chunk_2.mp4`],
        [frameRef(12, sid), `${sid}/frames/frame_12.jpg`],
      ];
      for (const [ref, key] of cases) {
        const r = await put(ref, randomBytesOf(100));
        expect(r.outcome).toBe("created");
        expect(r.location.endsWith(key)).toBe(true);
      }
      // webm and mp4 chunks are different keys: chunk 0 as mp4 does not exist.
      expect(await head(audioRef(0, sid, "audio/mp4"))).toBeNull();
    });

    test("missing blobs: get is NOT_FOUND, head is null, delete is false", async () => {
      const ref = frameRef(99);
      expect(await codeOf(get(ref))).toBe("NOT_FOUND");
      expect(await head(ref)).toBeNull();
      expect(await del(ref)).toBe(false);
    });

    test("delete removes a blob; the key can then be written again", async () => {
      const ref = audioRef(5);
      expect((await put(ref, randomBytesOf(500))).outcome).toBe("created");
      expect(await del(ref)).toBe(true);
      expect(await head(ref)).toBeNull();
      expect(await codeOf(get(ref))).toBe("NOT_FOUND");
      expect(await del(ref)).toBe(false);
      const fresh = randomBytesOf(700);
      expect((await put(ref, fresh)).outcome).toBe("created");
      expect((await get(ref)).sha256Hex).toBe(sha256Hex(fresh));
    });

    test("concurrent puts of the same key and bytes: exactly one CREATED, the rest IDENTICAL", async () => {
      const ref = audioRef(7);
      const data = randomBytesOf(64 * 1024);
      const results = await Promise.all(Array.from({ length: 12 }, () => put(ref, data)));
      const outcomes = results.map((r) => r.outcome);
      expect(outcomes.filter((o) => o === "created").length).toBe(1);
      expect(outcomes.filter((o) => o === "identical").length).toBe(11);
      expect(Buffer.from((await get(ref)).data).equals(Buffer.from(data))).toBe(true);
    });

    test("concurrent puts of the same key with different bytes: one winner, stored intact", async () => {
      const ref = frameRef(8);
      const candidates = Array.from({ length: 8 }, () => randomBytesOf(32 * 1024));
      const results = await Promise.all(candidates.map((d) => put(ref, d)));
      const created = results.map((r, i) => [r.outcome, i] as const).filter(([o]) => o === "created");
      expect(created.length).toBe(1);
      expect(results.filter((r) => r.outcome === "conflict").length).toBe(7);
      const winner = candidates[created[0]![1]]!;
      const got = await get(ref);
      expect(Buffer.from(got.data).equals(Buffer.from(winner))).toBe(true);
    });

    test("many concurrent puts of different keys all land", async () => {
      const sid = crypto.randomUUID();
      const blobs = Array.from({ length: 100 }, (_, i) => ({ ref: frameRef(i, sid), data: randomBytesOf(2048) }));
      const results = await Promise.all(blobs.map((b) => put(b.ref, b.data)));
      expect(results.every((r) => r.outcome === "created")).toBe(true);
      for (const b of blobs.slice(0, 100)) expect((await head(b.ref))?.sha256Hex).toBe(sha256Hex(b.data));
    });

    test("large (8 MiB) blob round-trips", async () => {
      const ref = audioRef(9, undefined, "audio/mp4");
      const data = randomBytesOf(8 * 1024 * 1024);
      expect((await put(ref, data)).outcome).toBe("created");
      const got = await get(ref);
      expect(got.data.byteLength).toBe(data.byteLength);
      expect(got.sha256Hex).toBe(sha256Hex(data));
      expect((await head(ref))?.size).toBe(8 * 1024 * 1024);
      expect((await put(ref, data)).outcome).toBe("identical");
    });

    test("ListBlobs: a session's blobs in key order, with size and modification time; pages cover all once", async () => {
      const sid = crypto.randomUUID();
      const t0 = Date.now() - 2000; // S3 LastModified has second precision
      const refs: BlobRef[] = [audioRef(0, sid), audioRef(10, sid), audioRef(2, sid, "audio/mp4"), frameRef(0, sid), frameRef(1, sid), { sessionId: sid, kind: "manifest", index: 0, mediaType: "application/json" }];
      for (const [i, r] of refs.entries()) await put(r, randomBytesOf(100 + i));
      const expected = refs.map((r) => blobKey(r)).sort();
      const all = await listBlobs(store, { sessionId: sid });
      expect(all.next).toBe("");
      expect(all.blobs.map((b) => b.at.key)).toEqual(expected);
      for (const b of all.blobs) {
        const i = refs.findIndex((r) => blobKey(r) === b.at.key);
        expect(b.size).toBe(100 + i);
        expect(b.at.ref).toEqual(refs[i]!);
        expect(b.modifiedAtMs).toBeGreaterThanOrEqual(t0);
        expect(b.modifiedAtMs).toBeLessThanOrEqual(Date.now() + 2000);
      }
      const paged: ListedBlob[] = [];
      let token = "";
      do {
        const page = await listBlobs(store, { sessionId: sid, pageToken: token, pageSize: 2 });
        expect(page.blobs.length).toBeLessThanOrEqual(2);
        paged.push(...page.blobs);
        token = page.next;
      } while (token);
      expect(paged.map((b) => b.at.key)).toEqual(expected);
      // The whole store's listing holds them too, in the same order.
      const everything: string[] = [];
      token = "";
      do {
        const page = await listBlobs(store, { pageToken: token, pageSize: 1000 });
        everything.push(...page.blobs.map((b) => b.at.key));
        token = page.next;
      } while (token);
      expect(everything.filter((k) => k.startsWith(sid))).toEqual(expected);
      expect([...everything].sort()).toEqual(everything);
    });

    test("ListBlobs refuses a bad session id, page size or token", async () => {
      expect(await codeOf(listBlobs(store, { sessionId: "nope" }))).toBe("INVALID_SESSION_ID");
      expect(await codeOf(listBlobs(store, { pageSize: 1001 }))).toBe("INVALID_MESSAGE");
      expect(await codeOf(listBlobs(store, { pageToken: "../etc" }))).toBe("INVALID_MESSAGE");
      expect((await listBlobs(store, { sessionId: crypto.randomUUID() })).blobs).toEqual([]);
    });

    test("DeleteBlob with unmodifiedSinceMs keeps a blob modified after it, deletes one modified at or before", async () => {
      const sid = crypto.randomUUID();
      const ref = frameRef(0, sid);
      await put(ref, randomBytesOf(64));
      const [listed] = (await listBlobs(store, { sessionId: sid })).blobs;
      expect(await deleteBlob(store, ref, { unmodifiedSinceMs: listed!.modifiedAtMs - 1 })).toBe(false);
      expect(await head(ref)).not.toBeNull();
      expect(await deleteBlob(store, ref, { unmodifiedSinceMs: listed!.modifiedAtMs })).toBe(true);
      expect(await head(ref)).toBeNull();
      expect(await codeOf(deleteBlob(store, ref, { unmodifiedSinceMs: -1 }))).toBe("INVALID_MESSAGE");
    });
  });
}
