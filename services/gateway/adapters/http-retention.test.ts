import { beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { AppError } from "../../shared/errors";
import { apiKeyId, createApiKeyChecker } from "../core/api-keys";
import type { InterviewRetention } from "../core/ports";
import { deleteInterviewSession, putLegalHold, putRetention, retentionDaysField, type RetentionHttpDeps } from "./http-retention";

const KEY = "operator-key-0123456789abcdefghijklmnop";
const GW = "http://gw";

interface Fake {
  holds: Map<number, boolean>;
  days: Map<number, number | null>;
  erasures: Map<number, { erasureId: number; keyId: string }>;
  calls: number;
}
let fake: Fake;
let deps: RetentionHttpDeps;

function fakeRetention(f: Fake): InterviewRetention {
  const known = (id: number) => {
    if (!f.holds.has(id) || f.erasures.has(id)) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
  };
  return {
    async requestErasure(id, keyId) {
      f.calls++;
      const e = f.erasures.get(id);
      if (e) return { erasureId: e.erasureId, state: "pending" };
      if (!f.holds.has(id)) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
      if (f.holds.get(id)) throw new AppError("LEGAL_HOLD");
      f.erasures.set(id, { erasureId: f.erasures.size + 1, keyId });
      return { erasureId: f.erasures.size, state: "pending" };
    },
    async setLegalHold(id, hold) {
      f.calls++;
      known(id);
      f.holds.set(id, hold);
      return hold;
    },
    async setRetention(id, days) {
      f.calls++;
      known(id);
      f.days.set(id, days);
      return days;
    },
  };
}

beforeEach(() => {
  fake = { holds: new Map([[7, false], [8, true]]), days: new Map(), erasures: new Map(), calls: 0 };
  deps = { retention: fakeRetention(fake), apiKeys: createApiKeyChecker([KEY]), headers: () => ({ "x-cors": "1" }) };
});

const req = (method: string, body?: unknown, auth: string | null = KEY) =>
  new Request(`${GW}/x`, { method, headers: auth === null ? {} : { authorization: `Bearer ${auth}` }, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers });
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return (e as AppError).code;
  }
};

describe("apiKeyId", () => {
  test("the first 16 hex digits of SHA-256 of the key: names it without revealing it", () => {
    expect(apiKeyId(KEY)).toBe(createHash("sha256").update(KEY).digest("hex").slice(0, 16));
    expect(apiKeyId(KEY)).toMatch(/^[0-9a-f]{16}$/);
    expect(apiKeyId(KEY)).not.toBe(apiKeyId(`${KEY}x`));
  });
});

describe("DELETE /interview-sessions/{id}", () => {
  test("202 with the erasure; the requester recorded by its key id; a repeat answers the same erasure", async () => {
    const r = await json(await deleteInterviewSession(deps, req("DELETE"), "7"));
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ erasure_id: 1, state: "pending" });
    expect(r.headers.get("x-cors")).toBe("1");
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(fake.erasures.get(7)!.keyId).toBe(apiKeyId(KEY));
    expect((await json(await deleteInterviewSession(deps, req("DELETE"), "7"))).body).toEqual({ erasure_id: 1, state: "pending" });
    expect(fake.erasures.size).toBe(1);
  });

  test("LEGAL_HOLD when held, INTERVIEW_SESSION_NOT_FOUND for an unknown or malformed id", async () => {
    expect(await codeOf(deleteInterviewSession(deps, req("DELETE"), "8"))).toBe("LEGAL_HOLD");
    expect(await codeOf(deleteInterviewSession(deps, req("DELETE"), "9"))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    for (const bad of ["0", "07", "-1", "x", "%E0%A4%A", "1".repeat(17)]) expect(await codeOf(deleteInterviewSession(deps, req("DELETE"), bad))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    expect(fake.erasures.size).toBe(0);
  });

  test("api key only: no bearer, a wrong one or a token-looking one is refused before anything is asked", async () => {
    for (const auth of [null, "not-the-key-0123456789abcdefghijklmnopq", "eyJhbGciOiJIUzI1NiJ9.e30.x"]) {
      expect(await codeOf(deleteInterviewSession(deps, req("DELETE", undefined, auth), "7"))).toBe("API_KEY_INVALID");
      expect(await codeOf(putLegalHold(deps, req("PUT", { hold: true }, auth), "7"))).toBe("API_KEY_INVALID");
      expect(await codeOf(putRetention(deps, req("PUT", { retention_days: 3 }, auth), "7"))).toBe("API_KEY_INVALID");
    }
    expect(fake.calls).toBe(0);
  });
});

describe("PUT legal-hold and retention", () => {
  test("legal hold set and lifted; then the erasure goes through", async () => {
    expect((await json(await putLegalHold(deps, req("PUT", { hold: true }), "7"))).body).toEqual({ interview_session_id: 7, legal_hold: true });
    expect(await codeOf(deleteInterviewSession(deps, req("DELETE"), "7"))).toBe("LEGAL_HOLD");
    expect((await json(await putLegalHold(deps, req("PUT", { hold: false }), "7"))).body).toEqual({ interview_session_id: 7, legal_hold: false });
    expect((await json(await deleteInterviewSession(deps, req("DELETE"), "7"))).status).toBe(202);
  });

  test("bad bodies change nothing: hold must be a boolean, retention_days 1..3650 or null and present", async () => {
    for (const body of [{}, { hold: "yes" }, { hold: 1 }, { hold: null }]) expect(await codeOf(putLegalHold(deps, req("PUT", body), "7"))).toBe("INVALID_MESSAGE");
    expect(await codeOf(putLegalHold(deps, req("PUT", "{nope"), "7"))).toBe("INVALID_JSON");
    expect(await codeOf(putLegalHold(deps, req("PUT", "[1]"), "7"))).toBe("INVALID_JSON");
    for (const body of [{}, { retention_days: 0 }, { retention_days: 3651 }, { retention_days: 1.5 }, { retention_days: "30" }]) {
      expect(await codeOf(putRetention(deps, req("PUT", body), "7"))).toBe("INVALID_MESSAGE");
    }
    expect(fake.calls).toBe(0);
  });

  test("retention set, and cleared with null", async () => {
    expect((await json(await putRetention(deps, req("PUT", { retention_days: 30 }), "7"))).body).toEqual({ interview_session_id: 7, retention_days: 30 });
    expect(fake.days.get(7)).toBe(30);
    expect((await json(await putRetention(deps, req("PUT", { retention_days: null }), "7"))).body).toEqual({ interview_session_id: 7, retention_days: null });
    expect(fake.days.get(7)).toBeNull();
    expect(await codeOf(putRetention(deps, req("PUT", { retention_days: 1 }), "9"))).toBe("INTERVIEW_SESSION_NOT_FOUND");
  });

  test("retentionDaysField: absent, null, 1..3650", () => {
    expect(retentionDaysField({})).toBeUndefined();
    expect(retentionDaysField({ retention_days: null })).toBeNull();
    expect(retentionDaysField({ retention_days: 1 })).toBe(1);
    expect(retentionDaysField({ retention_days: 3650 })).toBe(3650);
    expect(() => retentionDaysField({ retention_days: 0 })).toThrow();
  });
});
