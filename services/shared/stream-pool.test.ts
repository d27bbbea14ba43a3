import { afterEach, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { AppError } from "./errors";
import { StreamPool } from "./stream-pool";

interface Item {
  requestId: number;
  bytes: number;
}
interface Result {
  requestId: number;
  ok: boolean;
}
type Req = { items: Item[] };
type Res = { results: Result[] };

/** A duplex stream double: records what was written; the test answers by emitting "data". */
class FakeStream extends EventEmitter {
  written: Req[] = [];
  cancelled = false;
  write(req: Req) {
    this.written.push({ items: req.items.map((i) => ({ ...i })) });
    return true;
  }
  cancel() {
    this.cancelled = true;
  }
}

const pools: Array<StreamPool<Item, Result, Req, Res>> = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close(); // fails what is still pending
});

/** A call whose answer the test does not wait for (its failure at close is expected). */
function fire(p: StreamPool<Item, Result, Req, Res>, it: Item): void {
  p.call(it).catch(() => {});
}

function pool(opts: { streams?: number; maxItems?: number; maxBytes?: number; timeoutMs?: number } = {}) {
  const streams: FakeStream[] = [];
  const p = new StreamPool<Item, Result, Req, Res>({
    open: () => {
      const s = new FakeStream();
      streams.push(s);
      return s as unknown as ClientDuplexStream<Req, Res>;
    },
    streams: opts.streams ?? 1,
    timeoutMs: opts.timeoutMs ?? 1000,
    wrap: (items) => ({ items }),
    unwrap: (res) => res.results,
    idOf: (r) => r.requestId,
    withId: (item, id) => ({ ...item, requestId: id }),
    sizeOf: (item) => item.bytes,
    maxItems: opts.maxItems ?? 64,
    maxBytes: opts.maxBytes ?? 4 * 1024 * 1024,
  });
  pools.push(p);
  return { p, streams };
}

const turn = () => new Promise((r) => setImmediate(r));
const item = (bytes = 10): Item => ({ requestId: 0, bytes });

describe("StreamPool", () => {
  test("items called in one turn go out as one message; one response answers them all", async () => {
    const { p, streams } = pool();
    const answers = [p.call(item()), p.call(item()), p.call(item())];
    expect(streams[0]!.written).toHaveLength(0); // nothing before the turn ends
    await turn();
    expect(streams[0]!.written).toHaveLength(1);
    const ids = streams[0]!.written[0]!.items.map((i) => i.requestId);
    expect(new Set(ids).size).toBe(3);
    streams[0]!.emit("data", { results: ids.reverse().map((requestId) => ({ requestId, ok: true })) });
    expect((await Promise.all(answers)).map((r) => r.requestId)).toEqual(ids.reverse());
    expect(p.inFlight).toBe(0);
  });

  test("a message holds at most maxItems items and maxBytes bytes; a bigger item travels alone", async () => {
    const { p, streams } = pool({ maxItems: 2, maxBytes: 100 });
    for (let i = 0; i < 5; i++) fire(p, item());
    await turn();
    expect(streams[0]!.written.map((m) => m.items.length)).toEqual([2, 2, 1]);
    fire(p, item(60));
    fire(p, item(60));
    fire(p, item(500));
    await turn();
    expect(streams[0]!.written.slice(3).map((m) => m.items.map((i) => i.bytes))).toEqual([[60], [60], [500]]);
  });

  test("items spread over the least loaded streams", async () => {
    const { p, streams } = pool({ streams: 2 });
    for (let i = 0; i < 4; i++) fire(p, item());
    await turn();
    expect(streams.map((s) => s.written.flatMap((m) => m.items).length)).toEqual([2, 2]);
  });

  test("a broken stream fails only its pending items; the next call opens a fresh stream", async () => {
    const { p, streams } = pool();
    const a = p.call(item());
    await turn();
    streams[0]!.emit("error", Object.assign(new Error("gone"), { code: 14 }));
    expect(await a.then(() => "answered", (e: AppError) => e.code)).toBe("UPSTREAM_UNAVAILABLE");
    expect(streams[0]!.cancelled).toBe(true);
    const b = p.call(item());
    await turn();
    expect(streams).toHaveLength(2);
    const id = streams[1]!.written[0]!.items[0]!.requestId;
    streams[1]!.emit("data", { results: [{ requestId: id, ok: true }] });
    expect((await b).ok).toBe(true);
  });

  test("an item with no answer fails after timeoutMs; a late answer is ignored", async () => {
    const { p, streams } = pool({ timeoutMs: 20 });
    const a = p.call(item());
    await turn();
    expect(await a.then(() => "answered", (e: AppError) => e.code)).toBe("UPSTREAM_UNAVAILABLE");
    const id = streams[0]!.written[0]!.items[0]!.requestId;
    streams[0]!.emit("data", { results: [{ requestId: id, ok: true }] }); // no throw, nothing to resolve
    expect(p.inFlight).toBe(0);
  });

  test("after close, calls are refused and pending items fail", async () => {
    const { p } = pool();
    const a = p.call(item());
    p.close();
    expect(await a.then(() => "answered", (e: AppError) => e.code)).toBe("UPSTREAM_UNAVAILABLE");
    expect(await p.call(item()).then(() => "answered", (e: AppError) => e.code)).toBe("UPSTREAM_UNAVAILABLE");
  });
});
