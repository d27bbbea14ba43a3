import { expect, test } from "bun:test";
import { GroupCommitter } from "./group-commit";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test("items submitted in one turn share one batch", async () => {
  const batches: number[][] = [];
  const gc = new GroupCommitter<number, number>({ maxBatch: 100, maxInFlight: 1, commit: async (xs) => (batches.push(xs), xs.map((x) => x * 2)) });
  const results = await Promise.all([1, 2, 3].map((x) => gc.submit(x)));
  expect(results).toEqual([2, 4, 6]);
  expect(batches).toEqual([[1, 2, 3]]);
});

test("full batches are cut at maxBatch", async () => {
  const sizes: number[] = [];
  const gc = new GroupCommitter<number, number>({ maxBatch: 4, maxInFlight: 8, commit: async (xs) => (sizes.push(xs.length), xs) });
  await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i)));
  expect(sizes).toEqual([4, 4, 2]);
});

test("items queued while a transaction runs go out together afterwards (group commit)", async () => {
  const gate = deferred();
  const batches: number[][] = [];
  const gc = new GroupCommitter<number, number>({
    maxBatch: 100,
    maxInFlight: 1,
    commit: async (xs) => {
      batches.push(xs);
      if (batches.length === 1) await gate.promise;
      return xs;
    },
  });
  const first = gc.submit(0);
  await new Promise((r) => setImmediate(r));
  const rest = [1, 2, 3, 4].map((x) => gc.submit(x));
  await new Promise((r) => setImmediate(r));
  expect(gc.running).toBe(1);
  expect(gc.queued).toBe(4);
  gate.resolve();
  await Promise.all([first, ...rest]);
  expect(batches).toEqual([[0], [1, 2, 3, 4]]);
  await gc.idle();
});

test("a failed commit rejects exactly its batch; the next one still runs", async () => {
  let n = 0;
  const seen: Array<[number, boolean]> = [];
  const gc = new GroupCommitter<number, number>({
    maxBatch: 2,
    maxInFlight: 1,
    commit: async (xs) => {
      if (n++ === 0) throw new Error("db down");
      return xs;
    },
    onBatch: (size, _s, ok) => seen.push([size, ok]),
  });
  const settled = await Promise.allSettled([1, 2, 3].map((x) => gc.submit(x)));
  expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "fulfilled"]);
  expect(seen).toEqual([
    [2, false],
    [1, true],
  ]);
});

test("laned: one session's items stay in one lane, in order; lanes run in parallel", async () => {
  const { LanedCommitter } = await import("./group-commit");
  const batches: string[][] = [];
  const lc = new LanedCommitter<string, string>({
    lanes: 4,
    maxBatch: 100,
    keyOf: (s) => s.split("/")[0]!,
    commit: async (xs) => (batches.push(xs), xs),
  });
  const items = ["a/1", "b/1", "a/2", "c/1", "a/3", "b/2"];
  expect(await Promise.all(items.map((x) => lc.submit(x)))).toEqual(items);
  const aBatch = batches.find((b) => b.includes("a/1"))!;
  expect(aBatch.filter((x) => x.startsWith("a/"))).toEqual(["a/1", "a/2", "a/3"]);
  expect(batches.flat().sort()).toEqual([...items].sort());
  await lc.idle();
});
