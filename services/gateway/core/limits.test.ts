import { describe, expect, test } from "bun:test";
import {
  ABUSE_LIMIT_DEFAULTS,
  boundedMissing,
  ByteBudget,
  ConnectionDeadlines,
  ConnectionLimiter,
  MAX_MISSING_LISTED,
  missingWithin,
  renderMissing,
  SessionsPerToken,
  TokenBucket,
} from "./limits";

const SID = (i: number) => `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, "0")}`;

describe("defaults", () => {
  test("as documented", () => {
    expect(ABUSE_LIMIT_DEFAULTS).toEqual({
      maxConnections: 10000,
      maxConnectionsPerIp: 50,
      initTimeoutMs: 10000,
      idleTimeoutMs: 120000,
      maxMessagesPerS: 1000,
      messageBurst: 2000,
      maxSessionsPerToken: 4,
      maxTotalBufferedBytes: 1073741824,
    });
  });
});

describe("ConnectionLimiter", () => {
  test("per-IP cap, other IPs unaffected, a release frees the slot", () => {
    const l = new ConnectionLimiter(100, 2);
    const a = l.tryAcquire("10.0.0.1");
    const b = l.tryAcquire("10.0.0.1");
    expect(a.ok && b.ok).toBe(true);
    expect(l.tryAcquire("10.0.0.1")).toEqual({ ok: false, code: "TOO_MANY_CONNECTIONS", scope: "ip" });
    expect(l.tryAcquire("10.0.0.2").ok).toBe(true);
    if (a.ok) a.lease.release();
    expect(l.openFrom("10.0.0.1")).toBe(1);
    expect(l.tryAcquire("10.0.0.1").ok).toBe(true);
  });

  test("gateway-wide cap", () => {
    const l = new ConnectionLimiter(3, 50);
    for (let i = 0; i < 3; i++) expect(l.tryAcquire(`10.0.0.${i}`).ok).toBe(true);
    expect(l.tryAcquire("10.0.0.9")).toEqual({ ok: false, code: "TOO_MANY_CONNECTIONS", scope: "gateway" });
    expect(l.open).toBe(3);
  });

  test("release is idempotent and idle IPs are forgotten", () => {
    const l = new ConnectionLimiter(10, 10);
    const a = l.tryAcquire("::1");
    if (!a.ok) throw new Error("refused");
    a.lease.release();
    a.lease.release();
    expect(l.open).toBe(0);
    expect(l.ips).toBe(0);
    const b = l.tryAcquire("::1");
    const c = l.tryAcquire("::1");
    if (b.ok) b.lease.release();
    if (b.ok) b.lease.release(); // a double release must not free c's slot
    expect(l.openFrom("::1")).toBe(1);
    expect(c.ok).toBe(true);
  });

  test("a refusal holds nothing", () => {
    const l = new ConnectionLimiter(1, 1);
    l.tryAcquire("a");
    for (let i = 0; i < 10; i++) l.tryAcquire("a");
    expect(l.open).toBe(1);
  });
});

describe("TokenBucket", () => {
  test("a burst, then the sustained rate", () => {
    const b = new TokenBucket(200, 400, 0);
    let n = 0;
    while (b.take(0)) n++;
    expect(n).toBe(400);
    expect(b.take(4)).toBe(false); // 4 ms → 0.8 token
    expect(b.take(5)).toBe(true); // 5 ms → 1 token
    // One second at exactly the rate passes, a second at twice the rate does not.
    let ok = 0;
    for (let t = 10; t < 1010; t += 5) ok += b.take(t) ? 1 : 0;
    expect(ok).toBe(200);
    let fast = 0;
    for (let t = 1010; t < 2010; t += 2.5) fast += b.take(t) ? 1 : 0;
    expect(fast).toBeLessThanOrEqual(201);
  });

  test("refills up to the burst only; a clock stepping back refills nothing", () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) b.take(0);
    expect(b.take(60_000, 6)).toBe(false);
    expect(b.take(60_000, 5)).toBe(true);
    expect(b.take(0)).toBe(false);
  });
});

describe("SessionsPerToken", () => {
  test("at most N distinct sessions per jti; other tokens unaffected", () => {
    const s = new SessionsPerToken(4);
    const leases = [1, 2, 3, 4].map((i) => s.tryAcquire("jti-a", SID(i)));
    expect(leases.every((l) => l.ok)).toBe(true);
    expect(s.tryAcquire("jti-a", SID(5))).toEqual({ ok: false, code: "TOO_MANY_SESSIONS" });
    expect(s.tryAcquire("jti-b", SID(5)).ok).toBe(true);
    const first = leases[0]!;
    if (first.ok) first.lease.release();
    expect(s.tryAcquire("jti-a", SID(5)).ok).toBe(true);
  });

  test("the same session on two connections (a takeover, a reconnect) counts once", () => {
    const s = new SessionsPerToken(1);
    const a = s.tryAcquire("j", SID(1));
    const b = s.tryAcquire("j", SID(1));
    expect(a.ok && b.ok).toBe(true);
    expect(s.sessionsOf("j")).toBe(1);
    if (a.ok) a.lease.release();
    expect(s.tryAcquire("j", SID(2)).ok).toBe(false); // b still holds SID(1)
    if (b.ok) (b.lease.release(), b.lease.release());
    expect(s.tokens).toBe(0);
    expect(s.tryAcquire("j", SID(2)).ok).toBe(true);
  });
});

describe("ByteBudget", () => {
  test("per connection inside a gateway-wide budget: both or neither", () => {
    const gw = new ByteBudget(100);
    const c1 = new ByteBudget(60, gw);
    const c2 = new ByteBudget(60, gw);
    expect(c1.tryReserve(60)).toBe(true);
    expect(c1.tryReserve(1)).toBe(false);
    expect(c1.wouldRefuse(1)).toBe("connection");
    expect(c2.wouldRefuse(41)).toBe("gateway");
    expect(c2.tryReserve(41)).toBe(false); // the gateway is at 60/100
    expect(c2.used).toBe(0);
    expect(gw.used).toBe(60);
    expect(c2.tryReserve(40)).toBe(true);
    expect(gw.used).toBe(100);
    c1.release(60);
    expect(gw.used).toBe(40);
    expect(c2.tryReserve(20)).toBe(true);
  });

  test("over-release never goes below zero nor frees others' bytes", () => {
    const gw = new ByteBudget(100);
    const c1 = new ByteBudget(100, gw);
    const c2 = new ByteBudget(100, gw);
    c1.tryReserve(10);
    c2.tryReserve(30);
    c1.release(50);
    expect(c1.used).toBe(0);
    expect(gw.used).toBe(30);
    expect(() => c1.tryReserve(-1)).toThrow(RangeError);
  });
});

describe("ConnectionDeadlines", () => {
  const limits = { initTimeoutMs: 10_000, idleTimeoutMs: 120_000 };

  test("no session_init within the init timeout", () => {
    const d = new ConnectionDeadlines(limits, 1000);
    expect(d.nextDeadline()).toBe(11_000);
    d.protocolMessage(5000); // an invalid message resets idle, not the init deadline
    expect(d.expired(10_999)).toBeNull();
    expect(d.expired(11_000)).toBe("INIT_TIMEOUT");
  });

  test("after init, only protocol messages keep it open; pings never reach it", () => {
    const d = new ConnectionDeadlines(limits, 0);
    d.initialized();
    d.protocolMessage(2000);
    expect(d.nextDeadline()).toBe(122_000);
    expect(d.expired(121_999)).toBeNull();
    d.protocolMessage(100_000);
    expect(d.expired(219_999)).toBeNull();
    expect(d.expired(220_000)).toBe("IDLE_TIMEOUT");
  });

  test("a message timestamp from the past does not pull the deadline in", () => {
    const d = new ConnectionDeadlines(limits, 0);
    d.initialized();
    d.protocolMessage(50_000);
    d.protocolMessage(10_000);
    expect(d.nextDeadline()).toBe(170_000);
  });

  test("an idle timeout shorter than the init timeout applies before init", () => {
    const d = new ConnectionDeadlines({ initTimeoutMs: 10_000, idleTimeoutMs: 5000 }, 0);
    expect(d.nextDeadline()).toBe(5000);
    expect(d.expired(5000)).toBe("IDLE_TIMEOUT");
  });
});

describe("missing lists", () => {
  test("a count plus at most 1,000 indices", () => {
    const all = Array.from({ length: 5000 }, (_, i) => i * 2);
    const b = boundedMissing(all);
    expect(b.count).toBe(5000);
    expect(b.indices).toHaveLength(MAX_MISSING_LISTED);
    expect(b.indices[999]).toBe(1998);
    expect(boundedMissing([3, 17])).toEqual({ count: 2, indices: [3, 17] });
    expect(boundedMissing([])).toEqual({ count: 0, indices: [] });
  });

  test("renderMissing: the ack's fields", () => {
    const chunks = Array.from({ length: 1001 }, (_, i) => i);
    const r = renderMissing(chunks, [4]);
    expect(r.missing_chunks).toHaveLength(1000);
    expect(r).toMatchObject({ missing_frames: [4], missing_chunks_count: 1001, missing_frames_count: 1 });
    expect(JSON.stringify(renderMissing(Array.from({ length: 1_000_000 }, (_, i) => i), [])).length).toBeLessThan(10_000);
  });

  test("missingWithin: bounded work for a huge claim", () => {
    expect(missingWithin(5, [0, 2, 2, 9, -1])).toEqual({ count: 3, indices: [1, 3, 4] });
    expect(missingWithin(0, [1])).toEqual({ count: 0, indices: [] });
    const t = performance.now();
    const r = missingWithin(4_294_967_296, [0, 1, 2]);
    expect(performance.now() - t).toBeLessThan(500);
    expect(r.count).toBe(4_294_967_293);
    expect(r.indices).toHaveLength(1000);
    expect(r.indices[0]).toBe(3);
  });
});
