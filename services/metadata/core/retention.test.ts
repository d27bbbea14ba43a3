import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import {
  DAY_MS,
  effectiveRetentionDays,
  expiresAtMs,
  isExpired,
  Retention,
  type RetentionFacts,
  type RetentionInterview,
  type RetentionRepo,
  retentionStartMs,
} from "./retention";

const T0 = Date.parse("2026-01-10T12:00:00Z");
const facts = (over: Partial<RetentionFacts> = {}): RetentionFacts => ({
  createdAtMs: T0,
  lastActivityMs: 0,
  retentionDays: null,
  legalHold: false,
  erasureRequested: false,
  ...over,
});

describe("the retention rule", () => {
  test("the interview's own retention wins over the deployment's; neither: kept forever", () => {
    expect(effectiveRetentionDays(7, 30)).toBe(7);
    expect(effectiveRetentionDays(90, 30)).toBe(90);
    expect(effectiveRetentionDays(null, 30)).toBe(30);
    expect(effectiveRetentionDays(5, null)).toBe(5);
    expect(effectiveRetentionDays(null, null)).toBeNull();
    expect(expiresAtMs(facts(), null)).toBeNull();
    expect(isExpired(facts({ createdAtMs: 0 }), null, T0 * 10)).toBe(false);
  });

  test("counted from the last activity, or from creation when there was none", () => {
    expect(retentionStartMs({ createdAtMs: T0, lastActivityMs: 0 })).toBe(T0);
    expect(retentionStartMs({ createdAtMs: T0, lastActivityMs: T0 + 5 * DAY_MS })).toBe(T0 + 5 * DAY_MS);
    // a clock skew can never make it start before the interview existed
    expect(retentionStartMs({ createdAtMs: T0, lastActivityMs: T0 - DAY_MS })).toBe(T0);
    const recorded = facts({ lastActivityMs: T0 + 10 * DAY_MS });
    expect(expiresAtMs(recorded, 30)).toBe(T0 + 40 * DAY_MS);
    expect(isExpired(recorded, 30, T0 + 31 * DAY_MS)).toBe(false); // 31 days after creation, 21 after activity
    expect(isExpired(recorded, 30, T0 + 40 * DAY_MS - 1)).toBe(false);
    expect(isExpired(recorded, 30, T0 + 40 * DAY_MS)).toBe(true);
  });

  test("deployment days versus the interview's own, both ways", () => {
    const now = T0 + 10 * DAY_MS;
    expect(isExpired(facts(), 30, now)).toBe(false);
    expect(isExpired(facts({ retentionDays: 7 }), 30, now)).toBe(true); // shorter own retention
    expect(isExpired(facts(), 7, now)).toBe(true);
    expect(isExpired(facts({ retentionDays: 90 }), 7, now)).toBe(false); // longer own retention
    expect(isExpired(facts({ retentionDays: 7 }), null, now)).toBe(true); // own retention without a deployment default
  });

  test("never one under legal hold, nor one already being erased", () => {
    const now = T0 + 100 * DAY_MS;
    expect(isExpired(facts({ retentionDays: 1 }), 1, now)).toBe(true);
    expect(isExpired(facts({ retentionDays: 1, legalHold: true }), 1, now)).toBe(false);
    expect(isExpired(facts({ retentionDays: 1, erasureRequested: true }), 1, now)).toBe(false);
  });
});

/** A repository that records what the core asks; the rules under test are the core's. */
function recordingRepo(candidates: RetentionInterview[]) {
  const requested: Array<{ id: number; reason: string; keyId: string | null; decided: string }> = [];
  const fresh = new Map(candidates.map((c) => [c.interviewSessionId, c]));
  const repo: RetentionRepo = {
    setLegalHold: async (id) => (fresh.has(id) ? true : null),
    setRetention: async (id, days) => (fresh.has(id) ? { days } : null),
    async requestErasure(id, reason, keyId, decide) {
      const i = fresh.get(id);
      if (!i) return "not_found";
      const decided = decide(i);
      requested.push({ id, reason, keyId, decided });
      if (decided === "skip") return "skipped";
      return {
        created: true,
        erasure: { erasureId: id * 10, interviewSessionId: id, reason, state: "pending", requestedAtMs: 1, finishedAtMs: 0, requestedByKeyId: keyId ?? "", mediaSessionsDeleted: 0, blobsDeleted: 0, blobBytesDeleted: 0, rowsDeleted: 0 },
      };
    },
    claim: async () => [],
    listSessions: async () => [],
    progress: async () => {},
    deleteSessionRows: async () => ({ audioChunks: 0, videoFrames: 0, captureEvents: 0, mediaSessions: 0 }),
    finish: async () => {
      throw new Error("not used");
    },
    expiredCandidates: async () => candidates,
  };
  return { repo, requested, fresh };
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return (e as AppError).code;
  }
};

describe("Retention (core flows)", () => {
  const now = T0 + 40 * DAY_MS;
  const iv = (id: number, over: Partial<RetentionFacts> = {}): RetentionInterview => ({ interviewSessionId: id, ...facts(over) });

  test("the retention pass re-checks every candidate with the rule, and again on the fresh row", async () => {
    const { repo, requested, fresh } = recordingRepo([iv(1), iv(2, { retentionDays: 90 }), iv(3, { legalHold: true }), iv(4, { lastActivityMs: T0 + 20 * DAY_MS })]);
    // between the scan and its transaction, interview 4 ... was already past; make its fresh row show new activity
    fresh.set(4, iv(4, { lastActivityMs: now - DAY_MS }));
    const r = new Retention(repo, () => now);
    const out = await r.enqueueExpired(30, 100);
    expect(out.map((e) => e.interviewSessionId)).toEqual([1]);
    expect(requested).toEqual([{ id: 1, reason: "retention", keyId: null, decided: "erase" }]);
  });

  test("a request is refused LEGAL_HOLD for a held interview; bad key ids and ids change nothing", async () => {
    const { repo, requested } = recordingRepo([iv(1), iv(2, { legalHold: true })]);
    const r = new Retention(repo, () => now);
    expect((await r.requestErasure(1, "0123456789abcdef")).erasure.requestedByKeyId).toBe("0123456789abcdef");
    expect(await codeOf(r.requestErasure(2, "0123456789abcdef"))).toBe("LEGAL_HOLD");
    expect(await codeOf(r.requestErasure(3, "0123456789abcdef"))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    for (const bad of ["", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0"]) expect(await codeOf(r.requestErasure(1, bad))).toBe("INVALID_MESSAGE");
    for (const bad of [0, -1, 1.5, 2 ** 53]) expect(await codeOf(r.requestErasure(bad, "0123456789abcdef"))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    // the held one threw inside the decision: nothing was written for it
    expect(requested.map((q) => q.id)).toEqual([1]);
  });

  test("bounds: retention 1..3650 or null, claims, leases, the deployment default", async () => {
    const { repo } = recordingRepo([iv(1)]);
    const r = new Retention(repo, () => now);
    expect(await r.setRetention(1, 3650)).toBe(3650);
    expect(await r.setRetention(1, null)).toBeNull();
    for (const bad of [0, 3651, 2.5]) expect(await codeOf(r.setRetention(1, bad))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.setLegalHold(9, true))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    expect(await codeOf(r.claim({ worker: "", limit: 1, leaseMs: 1000 }))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.claim({ worker: "w", limit: 0, leaseMs: 1000 }))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.claim({ worker: "w", limit: 1, leaseMs: 999 }))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.listSessions(undefined))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.deleteSessionRows({ erasureId: 1, worker: "w", attempt: 1 }, "not-a-uuid"))).toBe("INVALID_SESSION_ID");
    expect(await codeOf(r.enqueueExpired(3651, 10))).toBe("INVALID_MESSAGE");
    expect(await codeOf(r.enqueueExpired(0, 0))).toBe("INVALID_MESSAGE");
  });
});
