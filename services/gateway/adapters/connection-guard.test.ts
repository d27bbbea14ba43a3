import { beforeEach, describe, expect, test } from "bun:test";
import { ConnectionGuard, type GuardClock, type GuardedSocket, type LimitName, MeteredByteBudget, originAllowed } from "./connection-guard";
import { ByteBudget } from "../core/limits";

/** A clock stepped by hand: timers fire in order as `advance` passes them. */
class FakeClock implements GuardClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown) => void this.timers.delete(h as number);
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  get pending() {
    return this.timers.size;
  }
}

const limits = { maxConnections: 4, maxConnectionsPerIp: 2, initTimeoutMs: 1000, idleTimeoutMs: 5000, maxMessagesPerS: 10, messageBurst: 20 };

let clock: FakeClock;
let refusals: LimitName[];
let guard: ConnectionGuard;

function socket(ready = false): GuardedSocket & { ready: boolean; closes: Array<string | number> } {
  const closes: Array<string | number> = [];
  const s = {
    ready,
    closes,
    isReady: () => s.ready,
    closeWith: (code: string) => void closes.push(code),
    closeTryAgain: () => void closes.push(1013),
  };
  return s;
}

const upgrade = (origin?: string) => new Request("http://gw/ws/media-stream", { headers: origin ? { origin } : {} });

beforeEach(() => {
  clock = new FakeClock();
  refusals = [];
  guard = new ConnectionGuard({ limits, corsAllowedOrigins: ["https://app.example"], refused: (l) => void refusals.push(l), clock });
});

describe("origins", () => {
  test("no Origin (not a browser) and listed origins pass; '*' allows any; an empty list allows no browser", () => {
    expect(originAllowed(null, [])).toBe(true);
    expect(originAllowed("https://app.example", ["https://app.example"])).toBe(true);
    expect(originAllowed("https://evil.example", ["https://app.example"])).toBe(false);
    expect(originAllowed("https://evil.example", ["*"])).toBe(true);
    expect(originAllowed("https://app.example", [])).toBe(false);
  });

  test("a foreign Origin on the upgrade is answered 403 ORIGIN_NOT_ALLOWED", async () => {
    expect(guard.checkUpgrade(upgrade("https://app.example"), "1.1.1.1")).toBeNull();
    expect(guard.checkUpgrade(upgrade(), "1.1.1.1")).toBeNull();
    const r = guard.checkUpgrade(upgrade("https://evil.example"), "1.1.1.1")!;
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ type: "error", code: "ORIGIN_NOT_ALLOWED" });
    expect(refusals).toEqual(["origin"]);
  });
});

describe("connection caps", () => {
  test("per IP and gateway-wide: 503 TOO_MANY_CONNECTIONS at the upgrade; a slot is free again after the close", async () => {
    const a1 = guard.watch("a", socket())!;
    guard.watch("a", socket());
    const r = guard.checkUpgrade(upgrade(), "a")!;
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ code: "TOO_MANY_CONNECTIONS" });
    expect(guard.checkUpgrade(upgrade(), "b")).toBeNull();
    guard.watch("b", socket());
    guard.watch("c", socket());
    expect(guard.checkUpgrade(upgrade(), "d")!.status).toBe(503); // 4 open in all
    expect(refusals).toEqual(["connections_per_ip", "connections"]);
    a1.closed();
    a1.closed(); // idempotent
    expect(guard.open).toBe(3);
    expect(guard.checkUpgrade(upgrade(), "a")).toBeNull();
  });

  test("a socket that raced past the upgrade check is closed 1013 when it opens, and holds no slot", () => {
    guard.watch("a", socket());
    guard.watch("a", socket());
    const s = socket();
    expect(guard.watch("a", s)).toBeNull();
    expect(s.closes).toEqual([1013]);
    expect(guard.openFrom("a")).toBe(2);
    expect(refusals).toEqual(["connections_per_ip"]);
  });
});

describe("deadlines", () => {
  test("no session within initTimeoutMs: INIT_TIMEOUT, even while messages arrive", () => {
    const s = socket();
    const w = guard.watch("a", s)!;
    clock.advance(500);
    expect(w.message()).toBe(true);
    clock.advance(499);
    expect(s.closes).toEqual([]);
    clock.advance(1);
    expect(s.closes).toEqual(["INIT_TIMEOUT"]);
    expect(refusals).toEqual(["init_timeout"]);
    expect(w.message()).toBe(false); // closing: nothing more is passed on
    w.closed();
    expect(guard.open).toBe(0);
    expect(clock.pending).toBe(0);
  });

  test("a ready session is not closed by the init deadline; idle after idleTimeoutMs without messages", () => {
    const s = socket();
    guard.watch("a", s);
    clock.advance(200);
    s.ready = true;
    clock.advance(4000);
    expect(s.closes).toEqual([]);
    clock.advance(800); // 5000 after the open, no message since
    expect(s.closes).toEqual(["IDLE_TIMEOUT"]);
    expect(refusals).toEqual(["idle_timeout"]);
  });

  test("protocol messages push the idle deadline (pings never reach the guard, so they cannot)", () => {
    const s = socket(true);
    const w = guard.watch("a", s)!;
    for (let i = 0; i < 10; i++) {
      clock.advance(4000);
      expect(w.message()).toBe(true);
    }
    expect(s.closes).toEqual([]);
    clock.advance(4999);
    expect(s.closes).toEqual([]);
    clock.advance(1);
    expect(s.closes).toEqual(["IDLE_TIMEOUT"]);
  });

  test("closed() stops the timer", () => {
    const w = guard.watch("a", socket())!;
    w.closed();
    expect(clock.pending).toBe(0);
  });
});

describe("message rate", () => {
  test("a burst, then the sustained rate; a flood is closed with RATE_LIMITED and its message dropped", () => {
    const s = socket(true);
    const w = guard.watch("a", s)!;
    for (let i = 0; i < 20; i++) expect(w.message()).toBe(true);
    clock.advance(1000); // 10 more tokens
    for (let i = 0; i < 10; i++) expect(w.message()).toBe(true);
    expect(s.closes).toEqual([]);
    expect(w.message()).toBe(false);
    expect(s.closes).toEqual(["RATE_LIMITED"]);
    expect(refusals).toEqual(["message_rate"]);
    expect(w.message()).toBe(false);
    expect(s.closes).toHaveLength(1);
  });
});

describe("gateway-wide buffered bytes", () => {
  test("MeteredByteBudget reports its level and its own refusals to the connections' budgets", () => {
    const levels: number[] = [];
    let refused = 0;
    const total = new MeteredByteBudget(100, { level: (b) => void levels.push(b), refused: () => void refused++ });
    const a = new ByteBudget(80, total);
    const b = new ByteBudget(80, total);
    expect(a.tryReserve(60)).toBe(true);
    expect(b.tryReserve(50)).toBe(false); // b's own budget has room, the total has not
    expect(b.wouldRefuse(50)).toBe("gateway");
    expect(a.tryReserve(30)).toBe(false); // a's own budget refuses first: not the total's refusal
    expect(refused).toBe(1);
    a.release(60);
    expect(levels).toEqual([60, 0]);
    expect(total.used).toBe(0);
  });
});
