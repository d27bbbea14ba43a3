import { describe, expect, test } from "bun:test";
import type { BlobRef } from "../../shared/blob";
import { type BlobPage, type ListedBlob, type OrphanPorts, isYoung, judgeRow, oldEnough, orphansOf, startSweepLoop, sweepOrphans } from "./orphan-sweep";

const SID = "0b6f3c2e-8d1a-4f5b-9c7e-123456789abc";
const NOW = 10_000_000;
const GRACE = 60_000;

function blob(kind: "audio" | "frame", index: number, ageMs: number, ext = kind === "audio" ? "webm" : "jpg", size = 100): ListedBlob {
  const mediaType = ext === "webm" ? "audio/webm" : ext === "mp4" ? "audio/mp4" : "image/jpeg";
  const key = `${SID}/${kind === "audio" ? "audio" : "frames"}/${kind === "audio" ? "chunk" : "frame"}_${index}.${ext}`;
  return { ref: { sessionId: SID, kind, index, mediaType }, key, size, modifiedAtMs: NOW - ageMs };
}

describe("the decision", () => {
  test("young: modified within the grace period (the boundary is old)", () => {
    expect(isYoung(blob("audio", 0, GRACE - 1), NOW, GRACE)).toBe(true);
    expect(isYoung(blob("audio", 0, GRACE), NOW, GRACE)).toBe(false);
    expect(isYoung(blob("audio", 0, -5_000), NOW, GRACE)).toBe(true); // a clock ahead of ours
    expect(oldEnough([blob("audio", 0, 1), blob("audio", 1, GRACE * 2)], NOW, GRACE).map((b) => b.ref.index)).toEqual([1]);
  });

  test("no row: orphan; a row naming this file (absolute path, s3:// location, bare key): referenced", () => {
    const b = blob("audio", 3, GRACE * 2);
    expect(judgeRow(b, null)).toBe("orphan");
    expect(judgeRow(b, `/srv/media/${b.key}`)).toBe("referenced");
    expect(judgeRow(b, `s3://bucket/prefix/${b.key}`)).toBe("referenced");
    expect(judgeRow(b, b.key)).toBe("referenced");
  });

  test("a row naming another extension of the same index: the blob is the leftover of a refused re-send", () => {
    const mp4 = blob("audio", 3, GRACE * 2, "mp4");
    expect(judgeRow(mp4, `/srv/media/${SID}/audio/chunk_3.webm`)).toBe("orphan");
    expect(judgeRow(mp4, `s3://b/${SID}/audio/chunk_3.webm`)).toBe("orphan");
  });

  test("a row whose path is anything else keeps the blob (never delete on a guess)", () => {
    const b = blob("audio", 3, GRACE * 2);
    for (const path of ["", "/elsewhere/recording.webm", `/srv/${SID}/audio/chunk_30.webm`, `/srv/x${SID}/audio/chunk_3.mp4`, `/srv/${SID}/audio/chunk_3.webm/x`]) {
      expect(judgeRow(b, path)).toBe("referenced");
    }
  });

  test("orphansOf pairs rows with candidates by position, and refuses a short answer", () => {
    const a = blob("audio", 0, GRACE * 2);
    const f = blob("frame", 0, GRACE * 2);
    expect(orphansOf([a, f], [`/m/${a.key}`, null])).toEqual([f]);
    expect(() => orphansOf([a, f], [null])).toThrow();
  });
});

/** In-memory ports: a store of blobs, a table of rows, and a log of the calls. */
function fakePorts(blobs: ListedBlob[], rows: Map<string, string> = new Map()) {
  const stored = new Map(blobs.map((b) => [b.key, b]));
  const calls: string[] = [];
  const keyOf = (r: BlobRef) => [...stored.values(), ...blobs].find((b) => b.ref.sessionId === r.sessionId && b.ref.kind === r.kind && b.ref.index === r.index && b.ref.mediaType === r.mediaType)?.key ?? "";
  const ports: OrphanPorts & { beforeRecheck?: (ref: BlobRef) => void } = {
    async listBlobs(token, size): Promise<BlobPage> {
      calls.push(`list ${token || "-"}`);
      const keys = [...stored.keys()].sort().filter((k) => k > token);
      const page = keys.slice(0, size);
      return { blobs: page.map((k) => stored.get(k)!), next: keys.length > size ? page[page.length - 1]! : "" };
    },
    async lookupRows(refs) {
      calls.push(`lookup ${refs.length}`);
      if (refs.length === 1) ports.beforeRecheck?.(refs[0]!);
      return refs.map((r) => {
        const b = blobs.find((x) => x.ref.sessionId === r.sessionId && x.ref.kind === r.kind && x.ref.index === r.index);
        return (b && rows.get(`${b.ref.kind}/${b.ref.index}`)) ?? null;
      });
    },
    async deleteBlob(ref, since) {
      const key = keyOf(ref);
      calls.push(`delete ${key.slice(37)}`);
      const b = stored.get(key);
      if (!b || b.modifiedAtMs > since) return false;
      stored.delete(key);
      return true;
    },
  };
  return { ports, stored, calls };
}

const run = (ports: OrphanPorts, over: { dryRun?: boolean; pageSize?: number } = {}) =>
  sweepOrphans(ports, { graceMs: GRACE, pageSize: over.pageSize ?? 100, dryRun: over.dryRun ?? false, now: () => NOW }, new AbortController().signal);

describe("sweepOrphans", () => {
  test("deletes old blobs without rows, keeps young ones and those with rows; one lookup per page plus one per orphan", async () => {
    const old = blob("audio", 0, GRACE * 2, "webm", 10);
    const young = blob("audio", 1, 1_000);
    const withRow = blob("frame", 0, GRACE * 2);
    const oldFrame = blob("frame", 1, GRACE * 2, "jpg", 7);
    const { ports, stored, calls } = fakePorts([old, young, withRow, oldFrame], new Map([["frame/0", `/m/${withRow.key}`]]));
    const r = await run(ports);
    expect(r.ok).toBe(true);
    expect([...stored.keys()].sort()).toEqual([young.key, withRow.key].sort());
    expect(r.stats).toMatchObject({
      scanned: 4,
      pages: 1,
      young: 1,
      found: { audio: 1, frame: 1 },
      foundBytes: { audio: 10, frame: 7 },
      removed: { audio: 1, frame: 1 },
      removedBytes: { audio: 10, frame: 7 },
      adopted: 0,
      gone: 0,
    });
    expect(calls).toEqual(["list -", "lookup 3", "lookup 1", "delete audio/chunk_0.webm", "lookup 1", "delete frames/frame_1.jpg"]);
  });

  test("dry run counts and reports but deletes nothing", async () => {
    const { ports, stored, calls } = fakePorts([blob("audio", 0, GRACE * 2), blob("audio", 1, GRACE * 2)]);
    const seen: string[] = [];
    const r = await sweepOrphans(ports, { graceMs: GRACE, pageSize: 10, dryRun: true, now: () => NOW, onOrphan: (b, a) => seen.push(`${b.ref.index} ${a}`) }, new AbortController().signal);
    expect(r.stats.found.audio).toBe(2);
    expect(r.stats.removed.audio).toBe(0);
    expect(stored.size).toBe(2);
    expect(seen).toEqual(["0 dry_run", "1 dry_run"]);
    expect(calls.some((c) => c.startsWith("delete"))).toBe(false);
  });

  test("a row that lands between the page's lookup and the re-check keeps the blob", async () => {
    const b = blob("audio", 5, GRACE * 2);
    const rows = new Map<string, string>();
    const { ports, stored } = fakePorts([b], rows);
    let lookups = 0;
    ports.beforeRecheck = () => void (++lookups === 2 && rows.set("audio/5", `/m/${b.key}`));
    const r = await run(ports);
    expect(r.stats).toMatchObject({ adopted: 1, found: { audio: 0 }, removed: { audio: 0 } });
    expect(stored.has(b.key)).toBe(true);
  });

  test("a blob re-created after the listing is not deleted (the delete carries the listed mtime)", async () => {
    const b = blob("audio", 6, GRACE * 2);
    const { ports, stored } = fakePorts([b]);
    let lookups = 0;
    ports.beforeRecheck = () => void (++lookups === 2 && stored.set(b.key, { ...b, modifiedAtMs: NOW }));
    const r = await run(ports);
    expect(r.stats).toMatchObject({ gone: 1, removed: { audio: 0 } });
    expect(stored.has(b.key)).toBe(true);
  });

  test("walks every page; a second sweep (or a second replica) finds nothing and changes nothing", async () => {
    const blobs = Array.from({ length: 7 }, (_, i) => blob("frame", i, GRACE * 2));
    const { ports, stored, calls } = fakePorts(blobs);
    const first = await run(ports, { pageSize: 3 });
    expect(first.stats.pages).toBe(3);
    expect(first.stats.removed.frame).toBe(7);
    expect(stored.size).toBe(0);
    expect(calls.filter((c) => c.startsWith("list")).length).toBe(3);
    const second = await run(ports, { pageSize: 3 });
    expect(second.stats).toMatchObject({ scanned: 0, found: { frame: 0 }, removed: { frame: 0 } });
  });

  test("a failed call ends the sweep as a result, with what was done so far", async () => {
    const { ports } = fakePorts([blob("audio", 0, GRACE * 2), blob("audio", 1, GRACE * 2)]);
    let deletes = 0;
    ports.deleteBlob = async () => {
      if (++deletes === 2) throw new Error("storage down");
      return true;
    };
    const r = await run(ports);
    expect(r.ok).toBe(false);
    expect(r.stats.removed.audio).toBe(1);
  });

  test("an aborted signal stops before the next page", async () => {
    const { ports, calls } = fakePorts([blob("audio", 0, GRACE * 2)]);
    const ac = new AbortController();
    ac.abort();
    const r = await sweepOrphans(ports, { graceMs: GRACE, pageSize: 10, dryRun: false, now: () => NOW }, ac.signal);
    expect(r.ok).toBe(false);
    expect(calls).toEqual([]);
  });
});

describe("startSweepLoop", () => {
  test("sweeps at once, then after each interval; stop() ends the wait at once", async () => {
    const { ports } = fakePorts([blob("audio", 0, GRACE * 2)]);
    const results: boolean[] = [];
    const delays: number[] = [];
    let release: (() => void) | undefined;
    const loop = startSweepLoop({
      ports,
      sweep: { graceMs: GRACE, pageSize: 10, dryRun: false, now: () => NOW },
      intervalMs: 5_000,
      onSweep: (r) => results.push(r.ok),
      sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
          delays.push(ms);
          release = resolve;
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
    });
    while (results.length < 1) await Bun.sleep(1);
    release!();
    while (results.length < 2) await Bun.sleep(1);
    await loop.stop();
    expect(results).toEqual([true, true]);
    expect(delays.slice(0, 2)).toEqual([5_000, 5_000]);
  });
});
