import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { authorizeInterviewRead, authorizeMediaRead, authorizeSessionInit, authorizeStatusRead, type SessionInitRequest, type SessionOwner } from "./authorize";
import type { UploadTokenClaims } from "./tokens";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";

const token = (over: Partial<UploadTokenClaims> = {}): UploadTokenClaims => ({
  interviewSessionId: 7,
  userId: 42,
  sessionId: null,
  jti: "6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b",
  iat: 1_765_881_000,
  exp: 1_765_895_400,
  ...over,
});
const init = (over: Partial<SessionInitRequest> = {}): SessionInitRequest => ({ session_id: SID, interview_session_id: null, user_id: null, ...over });
const owner = (interviewSessionId: number | null, userId: number | null): SessionOwner => ({ interviewSessionId, userId });

function refused(fn: () => unknown): { code: string; reason: string; field: unknown } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    const a = e as AppError;
    return { code: a.code, reason: a.reason ?? "", field: a.details.field };
  }
  throw new Error("expected a refusal");
}

describe("authorizeSessionInit", () => {
  test("a new session takes the token's interview and user when the message names none", () => {
    expect(authorizeSessionInit(token(), init(), null)).toEqual({ interviewSessionId: 7, userId: 42 });
  });

  test("ids in the message may repeat the token's", () => {
    expect(authorizeSessionInit(token(), init({ interview_session_id: 7, user_id: 42 }), null)).toEqual({ interviewSessionId: 7, userId: 42 });
  });

  test("no token: TOKEN_INVALID", () => {
    expect(refused(() => authorizeSessionInit(null, init(), null))).toEqual({ code: "TOKEN_INVALID", reason: "missing", field: undefined });
  });

  test("the message names another interview or another candidate: FORBIDDEN", () => {
    expect(refused(() => authorizeSessionInit(token(), init({ interview_session_id: 8 }), null))).toEqual({ code: "FORBIDDEN", reason: "interview_mismatch", field: "interview_session_id" });
    expect(refused(() => authorizeSessionInit(token(), init({ user_id: 43 }), null))).toEqual({ code: "FORBIDDEN", reason: "user_mismatch", field: "user_id" });
    expect(refused(() => authorizeSessionInit(token(), init({ user_id: 0 }), null)).reason).toBe("user_mismatch");
  });

  test("a token bound to one session allows only that one", () => {
    expect(authorizeSessionInit(token({ sessionId: SID }), init(), null)).toEqual({ interviewSessionId: 7, userId: 42 });
    expect(refused(() => authorizeSessionInit(token({ sessionId: OTHER }), init(), null))).toEqual({ code: "FORBIDDEN", reason: "session_mismatch", field: "session_id" });
  });

  test("continuing or taking over: only the same interview and the same user", () => {
    expect(authorizeSessionInit(token(), init(), owner(7, 42))).toEqual({ interviewSessionId: 7, userId: 42 });
    expect(authorizeSessionInit(token({ sessionId: SID }), init(), owner(7, 42))).toEqual({ interviewSessionId: 7, userId: 42 });
    // Another candidate of the same interview, the same candidate id in another interview.
    expect(refused(() => authorizeSessionInit(token({ userId: 43 }), init(), owner(7, 42))).reason).toBe("owner_mismatch");
    expect(refused(() => authorizeSessionInit(token({ interviewSessionId: 8 }), init(), owner(7, 42))).reason).toBe("owner_mismatch");
    // Message ids that match the (foreign) token do not help.
    expect(refused(() => authorizeSessionInit(token({ userId: 43 }), init({ interview_session_id: 7, user_id: 43 }), owner(7, 42))).code).toBe("FORBIDDEN");
  });

  test("a session made before tokens (no owner) cannot be claimed by any token", () => {
    expect(refused(() => authorizeSessionInit(token(), init(), owner(null, null))).reason).toBe("owner_mismatch");
    expect(refused(() => authorizeSessionInit(token(), init(), owner(7, null))).reason).toBe("owner_mismatch");
  });
});

describe("authorizeStatusRead", () => {
  const own = owner(7, 42);
  test("an api key reads any existing session", () => {
    expect(authorizeStatusRead({ kind: "api_key" }, SID, own)).toEqual({ allow: true });
    expect(authorizeStatusRead({ kind: "api_key" }, SID, owner(null, null))).toEqual({ allow: true });
  });

  test("a token reads its own sessions", () => {
    expect(authorizeStatusRead({ kind: "token", claims: token() }, SID, own)).toEqual({ allow: true });
    expect(authorizeStatusRead({ kind: "token", claims: token({ sessionId: SID }) }, SID, own)).toEqual({ allow: true });
  });

  test("a foreign token gets what an unknown session gets", () => {
    const unknown = authorizeStatusRead({ kind: "token", claims: token() }, SID, null);
    expect(unknown).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason: "unknown" });
    for (const [claims, o, reason] of [
      [token({ userId: 43 }), own, "owner_mismatch"],
      [token({ interviewSessionId: 8 }), own, "owner_mismatch"],
      [token({ sessionId: OTHER }), own, "session_mismatch"],
      [token(), owner(null, null), "owner_mismatch"],
    ] as const) {
      const d = authorizeStatusRead({ kind: "token", claims }, SID, o);
      expect(d).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason });
      if (!d.allow && !unknown.allow) expect(d.code).toBe(unknown.code);
    }
    expect(authorizeStatusRead({ kind: "api_key" }, SID, null)).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason: "unknown" });
  });
});

describe("reviewer and media reads", () => {
  const SID2 = "8d0f2c2e-3b1a-4c3e-9f5a-2b8c7d6e5f40";
  const reviewer = (interviewSessionId: number | null) => ({ kind: "reviewer" as const, claims: { interviewSessionId, jti: crypto.randomUUID(), iat: 1, exp: 2 } });
  const own: SessionOwner = { interviewSessionId: 42, userId: 7 };

  test("a reviewer token of interview 42 reads its sessions, and nothing of interview 43", () => {
    expect(authorizeMediaRead(reviewer(42), own)).toEqual({ allow: true });
    expect(authorizeStatusRead(reviewer(42), SID2, own)).toEqual({ allow: true });
    expect(authorizeMediaRead(reviewer(43), own)).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason: "reviewer_scope" });
    expect(authorizeStatusRead(reviewer(43), SID2, own)).toMatchObject({ allow: false, code: "SESSION_NOT_FOUND" });
    expect(authorizeInterviewRead(reviewer(42), 42)).toEqual({ allow: true });
    expect(authorizeInterviewRead(reviewer(42), 43)).toEqual({ allow: false, reason: "reviewer_scope" });
  });

  test("an all-interviews reviewer reads every interview, but not a session without an owner", () => {
    expect(authorizeMediaRead(reviewer(null), own)).toEqual({ allow: true });
    expect(authorizeInterviewRead(reviewer(null), 43)).toEqual({ allow: true });
    expect(authorizeMediaRead(reviewer(null), { interviewSessionId: null, userId: null })).toMatchObject({ allow: false });
  });

  test("an upload token never reads media or an interview, not even its own", () => {
    const claims = { interviewSessionId: 42, userId: 7, sessionId: null, jti: crypto.randomUUID(), iat: 1, exp: 2 };
    expect(authorizeStatusRead({ kind: "token", claims }, SID2, own)).toEqual({ allow: true });
    expect(authorizeMediaRead({ kind: "token", claims }, own)).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason: "upload_token" });
    expect(authorizeInterviewRead({ kind: "token", claims }, 42)).toEqual({ allow: false, reason: "upload_token" });
  });

  test("the api key reads everything that exists; nothing reads what does not", () => {
    expect(authorizeMediaRead({ kind: "api_key" }, own)).toEqual({ allow: true });
    expect(authorizeMediaRead({ kind: "api_key" }, null)).toEqual({ allow: false, code: "SESSION_NOT_FOUND", reason: "unknown" });
    expect(authorizeInterviewRead({ kind: "api_key" }, 1)).toEqual({ allow: true });
  });
});
