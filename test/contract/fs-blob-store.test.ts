import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../../services/shared/errors";
import { DirSyncer, FsBlobStore, STALE_TEMP_MS, storageFull } from "../../services/storage/adapters/fs-blob-store";
import { sampleVolume } from "../../services/storage/adapters/volume-sampler";
import { headBlob, putBlob } from "../../services/storage/core/blob-store";
import { sha256Hex } from "../../services/storage/core/checksum";
import { fillVolume, mountTmpfs, type Tmpfs, tmpfsUnavailable } from "../support/tmpfs";
import { audioRef, blobStoreContract, frameRef, randomBytesOf } from "./blob-store.contract";

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), "candid-fs-store-"));
}

for (const sync of ["syncfs", "fsync"] as const) {
  blobStoreContract(`FsBlobStore (${sync})`, async () => {
    const dir = tempRoot();
    const store = await FsBlobStore.open(join(dir, "media"), { sync });
    return {
      store,
      cleanup: async () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

describe("FsBlobStore durability modes", () => {
  test("auto picks syncfs on Linux, and concurrent puts share batches (two syncfs calls each)", async () => {
    const dir = tempRoot();
    const store = await FsBlobStore.open(join(dir, "media"));
    try {
      expect(store.syncMode).toBe(process.platform === "linux" ? "syncfs" : "fsync");
      if (store.syncMode !== "syncfs") return;
      const writer = (store as unknown as { durability: { batches: number } }).durability;
      const before = writer.batches;
      const sid = crypto.randomUUID();
      const items = Array.from({ length: 64 }, (_, i) => randomBytesOf(2000, i + 1));
      const results = await Promise.all(items.map((data, i) => putBlob(store, { ref: audioRef(i, sid), data, sha256Hex: sha256Hex(data) })));
      expect(results.every((r) => r.outcome === "created")).toBe(true);
      const used = writer.batches - before;
      expect(used).toBeGreaterThanOrEqual(1);
      expect(used).toBeLessThan(64); // group commit, not one per put
      for (const [i, data] of items.entries()) expect(Buffer.from(readFileSync(results[i]!.location)).equals(Buffer.from(data))).toBe(true);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("FsBlobStore specifics", () => {
  test("location is the absolute path of the file, bytes identical, no temp files left", async () => {
    const dir = tempRoot();
    try {
      const store = await FsBlobStore.open(join(dir, "media"));
      const ref = audioRef(4);
      const data = randomBytesOf(50 * 1024);
      const r = await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) });
      expect(r.location).toBe(join(dir, "media", ref.sessionId, "audio", "chunk_4.webm"));
      expect(Buffer.from(readFileSync(r.location)).equals(Buffer.from(data))).toBe(true);
      await putBlob(store, { ref, data: randomBytesOf(10), sha256Hex: sha256Hex(randomBytesOf(10)) }).catch(() => {});
      const other = randomBytesOf(100);
      await putBlob(store, { ref, data: other, sha256Hex: sha256Hex(other) }); // CONFLICT
      expect(readdirSync(join(dir, "media", ref.sessionId, "audio"))).toEqual(["chunk_4.webm"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the first put into a folder removes stale temp files a crash left there, and only those", async () => {
    const dir = tempRoot();
    try {
      const store = await FsBlobStore.open(join(dir, "media"));
      const ref = audioRef(1);
      const folder = join(dir, "media", ref.sessionId, "audio");
      mkdirSync(folder, { recursive: true });
      const stale = join(folder, ".chunk_0.webm.0123456789ab.tmp");
      const fresh = join(folder, ".chunk_2.webm.ba9876543210.tmp");
      const lookalike = join(folder, "notes.tmp");
      for (const f of [stale, fresh, lookalike]) writeFileSync(f, "partial");
      const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
      utimesSync(stale, old, old);
      utimesSync(lookalike, old, old);
      const data = randomBytesOf(1000);
      await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) });
      for (let i = 0; i < 50 && readdirSync(folder).includes(".chunk_0.webm.0123456789ab.tmp"); i++) await Bun.sleep(10);
      expect(readdirSync(folder).sort()).toEqual([".chunk_2.webm.ba9876543210.tmp", "chunk_1.webm", "notes.tmp"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("sweepTemps walks every session folder: temp files older than the cut go, newer ones, blobs and other names stay", async () => {
    const dir = tempRoot();
    const store = await FsBlobStore.open(join(dir, "media"));
    try {
      const sids = [crypto.randomUUID(), crypto.randomUUID()];
      const old = (Date.now() - 2 * 3_600_000) / 1000;
      const keep: string[] = [];
      const gone: string[] = [];
      for (const sid of sids) {
        for (const folder of ["audio", "frames"]) {
          const f = join(dir, "media", sid, folder);
          mkdirSync(f, { recursive: true });
          const stale = join(f, `.x_0.bin.0123456789ab.tmp`);
          const fresh = join(f, `.x_1.bin.ba9876543210.tmp`);
          const other = join(f, "notes.tmp");
          writeFileSync(stale, "partial!");
          writeFileSync(fresh, "partial");
          writeFileSync(other, "mine");
          utimesSync(stale, old, old);
          utimesSync(other, old, old);
          gone.push(stale);
          keep.push(fresh, other);
        }
      }
      const r = await store.sweepTemps(Date.now() - 3_600_000);
      expect(r).toEqual({ removed: 4, bytes: 4 * "partial!".length });
      const data = randomBytesOf(10);
      const ref = audioRef(0, sids[0]);
      await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) });
      for (const f of gone) expect(existsSync(f)).toBe(false);
      for (const f of keep) expect(existsSync(f)).toBe(true);
      expect(existsSync(join(dir, "media", ref.sessionId, "audio", "chunk_0.webm"))).toBe(true);
      // Temp files and other names are never listed as blobs.
      expect((await store.list({ after: "", pageSize: 1000 })).blobs.map((b) => b.at.key)).toEqual([`${ref.sessionId}/audio/chunk_0.webm`]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a session folder deleted behind the store's back is recreated", async () => {
    const dir = tempRoot();
    try {
      const store = await FsBlobStore.open(dir);
      const ref = audioRef(0);
      const data = randomBytesOf(100);
      expect((await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) })).outcome).toBe("created");
      rmSync(join(dir, ref.sessionId), { recursive: true });
      expect((await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) })).outcome).toBe("created");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("relative roots are resolved", async () => {
    const dir = tempRoot();
    const prev = process.cwd();
    try {
      process.chdir(dir);
      const store = await FsBlobStore.open("./media_storage");
      expect(store.root).toBe(join(dir, "media_storage"));
    } finally {
      process.chdir(prev);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("DirSyncer", () => {
  test("callers arriving during an fsync share the next one", async () => {
    const gates: Array<() => void> = [];
    const s = new DirSyncer("/x", undefined, () => new Promise<void>((r) => gates.push(r)));
    const first = s.sync();
    const waiters = Array.from({ length: 50 }, () => s.sync());
    expect(s.syncs).toBe(1);
    gates.shift()!();
    await first;
    await Bun.sleep(0);
    expect(s.syncs).toBe(2); // one more for all 50 waiters
    gates.shift()!();
    await Promise.all(waiters);
    expect(s.syncs).toBe(2);
    const later = s.sync();
    expect(s.syncs).toBe(3);
    gates.shift()!();
    await later;
  });

  test("a failed fsync rejects its waiters and the next call tries again", async () => {
    let fail = true;
    const s = new DirSyncer("/x", undefined, async () => {
      if (fail) throw new Error("EIO");
    });
    await expect(s.sync()).rejects.toThrow("EIO");
    fail = false;
    await s.sync();
    expect(s.syncs).toBe(2);
  });
});

const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.warn(`SKIPPED "FsBlobStore on a full volume": ${noTmpfs}`);

describe.skipIf(noTmpfs !== null)("FsBlobStore on a full volume (a 4 MiB tmpfs)", () => {
  let vol: Tmpfs;
  beforeAll(() => {
    vol = mountTmpfs(4 * 1024 * 1024);
  });
  afterAll(() => vol?.unmount());

  test("sampleVolume reports the volume's size and what a writer may still use", async () => {
    const filler = join(vol.dir, "filler-sample");
    try {
      const empty = await sampleVolume(vol.dir);
      expect(empty.sizeBytes).toBe(4 * 1024 * 1024);
      expect(empty.freeBytes).toBe(vol.freeBytes());
      fillVolume(vol, filler, 1024 * 1024);
      const after = await sampleVolume(vol.dir);
      expect(after.freeBytes).toBeLessThanOrEqual(1024 * 1024);
      expect(after.freeBytes).toBeGreaterThan(1024 * 1024 - 64 * 1024);
    } finally {
      rmSync(filler, { force: true });
    }
  });

  for (const sync of ["syncfs", "fsync"] as const) {
    test(`${sync}: a put is refused STORAGE_FULL, leaves no file, and succeeds once space is back`, async () => {
      const root = join(vol.dir, `media-${sync}`);
      const store = await FsBlobStore.open(root, { sync });
      const filler = join(vol.dir, `filler-${sync}`);
      try {
        const sid = crypto.randomUUID();
        const first = randomBytesOf(64 * 1024, 1);
        expect((await putBlob(store, { ref: audioRef(0, sid), data: first, sha256Hex: sha256Hex(first) })).outcome).toBe("created");
        fillVolume(vol, filler);
        expect(vol.freeBytes()).toBe(0);

        const data = randomBytesOf(256 * 1024, 2);
        const put = () => putBlob(store, { ref: audioRef(1, sid), data, sha256Hex: sha256Hex(data) });
        const err = await put().then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe("STORAGE_FULL");
        expect((err as AppError).reason).toBe("enospc");
        expect((err as AppError).spec).toMatchObject({ http: 507, dropsItem: false, close: null });
        // a frame into a folder not yet created fails the same way
        const frame = randomBytesOf(20 * 1024, 3);
        const ferr = await putBlob(store, { ref: frameRef(0, sid), data: frame, sha256Hex: sha256Hex(frame) }).then(() => null, (e: unknown) => e);
        expect((ferr as AppError).code).toBe("STORAGE_FULL");
        // no partial file, no temp file, nothing under the name
        expect(readdirSync(join(root, sid, "audio"))).toEqual(["chunk_0.webm"]);
        expect(await headBlob(store, audioRef(1, sid))).toBeNull();
        expect(await headBlob(store, frameRef(0, sid))).toBeNull();

        unlinkSync(filler);
        const r = await put();
        expect(r.outcome).toBe("created");
        expect(sha256Hex(readFileSync(r.location))).toBe(sha256Hex(data));
        expect((await put()).outcome).toBe("identical");
        expect((await putBlob(store, { ref: frameRef(0, sid), data: frame, sha256Hex: sha256Hex(frame) })).outcome).toBe("created");
        expect(readdirSync(join(root, sid, "audio")).sort()).toEqual(["chunk_0.webm", "chunk_1.webm"]);
        expect(readdirSync(join(root, sid, "frames"))).toEqual(["frame_0.jpg"]);
      } finally {
        store.close();
        rmSync(filler, { force: true });
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});

describe("storageFull", () => {
  test("ENOSPC and EDQUOT become STORAGE_FULL with the errno as reason; other errors stay", () => {
    const enospc = Object.assign(new Error("no space"), { code: "ENOSPC" });
    expect(storageFull(enospc)).toMatchObject({ code: "STORAGE_FULL", reason: "enospc", cause: enospc });
    expect(storageFull(Object.assign(new Error("quota"), { code: "EDQUOT" }))?.reason).toBe("edquot");
    expect(storageFull(Object.assign(new Error("io"), { code: "EIO" }))).toBeNull();
    expect(storageFull(new Error("plain"))).toBeNull();
  });
});
