/**
 * Retention and erasure end to end, on the fs backend and on the S3 server (versitygw): the real
 * gateway, storage, metadata (PostgreSQL) and reaper processes, interviews recorded over the
 * WebSocket with the protocol client.
 *  - DELETE one of two interviews: afterwards nothing of it is left (storage listed under its
 *    sessions, every table queried), its routes answer 404, the other is untouched, and the audit
 *    row holds the api key's id and the counts, and no title;
 *  - a legal hold: 409 LEGAL_HOLD and nothing deleted; lifted, the erasure goes through;
 *  - retention: an interview whose last activity is pushed into the past (SQL) is erased by the
 *    retention pass, one with a longer retention of its own is kept;
 *  - a reaper killed (SIGKILL) in the middle of a big erasure (many blobs): the next reaper takes
 *    the expired claim over and finishes it, counting no blob twice.
 * One line per backend prints the erasure times.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { apiKeyId } from "../../services/gateway/core/api-keys";
import { type ServiceProc, freePort, httpOk, startService } from "../support/procs";
import { startS3, type TestS3 } from "../support/s3";
import { type Stack, startStack } from "../support/stack";
import { TestClient, fakeJpeg, fakeWebm } from "../support/ws-client";

const T0 = Date.parse("2026-01-10T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

async function eventually<T>(get: () => Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** Records one media session of `interviewId`: chunks, frames (in a window), a capture event, session_complete. */
async function record(stack: Stack, interviewId: number, userId: number, chunks: number, frames: number, complete = true): Promise<string> {
  const token = await stack.api.mintToken(interviewId, userId);
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: userId, timestamp: iso(T0), token });
  expect((await c.reply()).type).toBe("session_init_ack");
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < chunks; i++) {
    const blob = fakeWebm(3000 + i, i);
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + (i + 1) * 10_000), duration_ms: 10_000, size: blob.length });
    c.sendBlob(sid, "audio", i, blob);
    acks.push(c.next((m) => m.type === "audio_ack" && m.chunk_index === i, 30_000));
  }
  for (let i = 0; i < frames; i++) {
    const blob = fakeJpeg(600 + (i % 50), i);
    c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: Math.min(chunks - 1, Math.floor(i / 5)), timestamp: iso(T0 + i * 2000), offset_ms: (i % 5) * 2000, size: blob.length });
    c.sendBlob(sid, "frame", i, blob);
    acks.push(c.next((m) => m.type === "frame_ack" && (m as { frame_index?: number }).frame_index === i, 60_000));
    if (acks.length >= 32) await Promise.all(acks.splice(0, 16));
  }
  c.send({ type: "capture_event", session_id: sid, event_index: 0, kind: "silence", phase: "began", at: iso(T0 + 1000), detail: null });
  acks.push(c.next((m) => m.type === "capture_event_ack", 30_000));
  await Promise.all(acks);
  if (complete) {
    c.send({ type: "session_complete", session_id: sid, timestamp: iso(T0 + chunks * 10_000), total_chunks: chunks, total_frames: frames });
    await c.next((m) => m.type === "session_complete_ack", 30_000);
  }
  c.close();
  return sid;
}

interface Backend {
  name: "fs" | "s3";
  storageEnv(): Record<string, string>;
  /** Every stored name under the session (files and folders on fs, object keys in S3). */
  namesOf(stack: Stack, sid: string): Promise<string[]>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

let s3: TestS3 | null = null;
let bucket = "";
const BACKENDS: Backend[] = [
  {
    name: "fs",
    storageEnv: () => ({}),
    async namesOf(stack, sid) {
      const dir = join(stack.mediaDir, sid);
      if (!existsSync(dir)) return [];
      return [sid, ...readdirSync(dir, { recursive: true }).map((n) => `${sid}/${n}`)];
    },
  },
  {
    name: "s3",
    async setup() {
      s3 = await startS3();
      bucket = await s3.createBucket();
    },
    storageEnv: () => ({
      STORAGE_BACKEND: "s3",
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3!.endpoint,
      S3_REGION: s3!.region,
      S3_ACCESS_KEY_ID: s3!.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3!.secretAccessKey,
    }),
    async namesOf(_stack, sid) {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3!.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${sid}`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return names;
    },
    async teardown() {
      if (bucket) await s3?.deleteBucket(bucket).catch(() => {});
      await s3?.stop();
    },
  },
];

describe.each(BACKENDS)("retention and erasure on $name", (backend) => {
  let stack: Stack;
  let sql: postgres.Sql;
  const reapers: ServiceProc[] = [];
  const timings: string[] = [];

  const startReaper = async (env: Record<string, string> = {}) => {
    const ops = await freePort();
    const r = await startService({
      name: "reaper",
      entry: "services/reaper/main.ts",
      env: {
        METADATA_ADDR: stack.metadataAddr,
        STORAGE_ADDR: stack.storageAddr,
        REAPER_METRICS_PORT: String(ops),
        REAPER_ORPHAN_SWEEP: "false",
        REAPER_ERASURE_INTERVAL_MS: "200",
        REAPER_ERASURE_LEASE_MS: "3000",
        REAPER_RETENTION_INTERVAL_MS: "300",
        LOG_LEVEL: "info",
        ...env,
      },
      ready: () => httpOk(`http://127.0.0.1:${ops}/readyz`),
    });
    reapers.push(r);
    return { proc: r, metricsUrl: `http://127.0.0.1:${ops}/metrics` };
  };

  const call = (method: string, path: string, body?: unknown, key = stack.apiKey) =>
    fetch(`${stack.gatewayUrl}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

  /** Rows of the interview and of its sessions in every table that holds them. */
  const rowsOf = async (interviewId: number, sids: string[]) => {
    const [r] = await sql`
      select
        (select count(*) from interview_sessions where id = ${interviewId})::int as interviews,
        (select count(*) from media_sessions where interview_session_id = ${interviewId} or session_id = any(${sids}::uuid[]))::int as sessions,
        (select count(*) from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = any(${sids}::uuid[]))::int as chunks,
        (select count(*) from video_frames f join media_sessions m on m.id = f.media_session_id where m.session_id = any(${sids}::uuid[]))::int as frames,
        (select count(*) from capture_events e join media_sessions m on m.id = e.media_session_id where m.session_id = any(${sids}::uuid[]))::int as events`;
    return r as { interviews: number; sessions: number; chunks: number; frames: number; events: number };
  };
  const erasureOf = async (interviewId: number) => (await sql`select * from erasures where interview_session_id = ${interviewId}`)[0];
  const waitDone = (interviewId: number, ms = 60_000) => eventually(async () => (await erasureOf(interviewId))?.state === "done" && erasureOf(interviewId), ms, `erasure of interview ${interviewId} done`);
  const namesOfAll = async (sids: string[]) => (await Promise.all(sids.map((s) => backend.namesOf(stack, s)))).flat();

  beforeAll(async () => {
    await backend.setup?.();
    stack = await startStack({ logLevel: "warn", storageEnv: backend.storageEnv() });
    sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(reapers.map((r) => r.stop("SIGKILL")));
    await sql?.end({ timeout: 5 });
    await stack?.stop();
    await backend.teardown?.();
  });

  test("DELETE erases one interview completely, leaves the other untouched, and keeps an audit row without personal data", async () => {
    const a = await stack.api.createInterview("Interview with Jane Doe");
    const b = await stack.api.createInterview("Interview with John Roe");
    const aSids = [await record(stack, a, 41, 3, 10), await record(stack, a, 41, 2, 4, false)];
    const bSids = [await record(stack, b, 42, 3, 10)];
    const bBefore = { rows: await rowsOf(b, bSids), names: (await namesOfAll(bSids)).sort() };
    expect(bBefore.rows).toEqual({ interviews: 1, sessions: 1, chunks: 3, frames: 10, events: 1 });
    const aNames = await namesOfAll(aSids);
    expect(aNames.filter((n) => /chunk_|frame_/.test(n)).length).toBe(3 + 10 + 2 + 4);
    // The completed session was sealed: its manifest lies beside its media, and goes with it.
    expect(aNames.filter((n) => n.endsWith("manifest.json")).length).toBe(1);

    const tokenA = await stack.api.mintToken(a, 41);
    const del = await call("DELETE", `/interview-sessions/${a}`);
    expect(del.status).toBe(202);
    const body = (await del.json()) as { erasure_id: number; state: string };
    expect(body.state).toBe("pending");
    // idempotent: the same erasure again
    expect(await (await call("DELETE", `/interview-sessions/${a}`)).json()).toEqual({ erasure_id: body.erasure_id, state: "pending" });
    // gone for every reader at once, before the reaper even ran
    for (const sid of aSids) expect((await stack.api.status(sid)).code).toBe(404);
    expect((await call("POST", `/interview-sessions/${a}/upload-tokens`, { user_id: 41 })).status).toBe(404);
    expect((await call("PUT", `/interview-sessions/${a}/legal-hold`, { hold: true })).status).toBe(404);
    // a token minted before cannot open a new session for it, nor resume the unfinished one
    for (const sid of [crypto.randomUUID(), aSids[1]!]) {
      const c = await TestClient.connect(stack.wsUrl);
      c.send({ type: "session_init", session_id: sid, interview_session_id: a, user_id: 41, timestamp: iso(T0), token: tokenA });
      expect(await c.reply()).toMatchObject({ type: "error", code: "INTERVIEW_SESSION_NOT_FOUND" });
      c.close();
    }

    const t0 = performance.now();
    await startReaper();
    const audit = await waitDone(a);
    timings.push(`erasure_ms(${aNames.length} names)=${Math.round(performance.now() - t0)}`);

    expect(await namesOfAll(aSids)).toEqual([]);
    expect(await rowsOf(a, aSids)).toEqual({ interviews: 0, sessions: 0, chunks: 0, frames: 0, events: 0 });
    expect({ rows: await rowsOf(b, bSids), names: (await namesOfAll(bSids)).sort() }).toEqual(bBefore);
    expect((await stack.api.status(bSids[0]!)).code).toBe(200);
    // the audit row: who (the key's id), what, when; nothing personal
    expect(audit).toMatchObject({
      id: String(body.erasure_id),
      interview_session_id: String(a),
      reason: "request",
      state: "done",
      requested_by_key_id: apiKeyId(stack.apiKey),
      media_sessions_deleted: 2,
      blobs_deleted: String(3 + 10 + 2 + 4 + 1),
      rows_deleted: String(3 + 10 + 2 + 4 + 2 + 2),
    });
    expect(Number(audit!.blob_bytes_deleted)).toBeGreaterThan(0);
    expect(audit!.finished_at).toBeInstanceOf(Date);
    expect(JSON.stringify(audit)).not.toContain("Doe");
    expect(Object.keys(audit!).sort()).toEqual(
      ["attempts", "blob_bytes_deleted", "blobs_deleted", "claim_until", "claimed_by", "finished_at", "id", "interview_session_id", "media_sessions_deleted", "reason", "requested_at", "requested_by_key_id", "rows_deleted", "started_at", "state"].sort(),
    );
    // after it is done: still 404 everywhere, and DELETE answers the finished erasure
    expect(await (await call("DELETE", `/interview-sessions/${a}`)).json()).toEqual({ erasure_id: body.erasure_id, state: "done" });
    expect((await call("DELETE", `/interview-sessions/${b + 1000}`)).status).toBe(404);
    expect((await call("PUT", `/interview-sessions/${a}/retention`, { retention_days: 3 })).status).toBe(404);
  }, 180_000);

  test("a legal hold blocks the erasure (409 LEGAL_HOLD, nothing deleted); lifted, the erasure goes through", async () => {
    const id = await stack.api.createInterview("held");
    const sids = [await record(stack, id, 7, 2, 3)];
    const before = { rows: await rowsOf(id, sids), names: (await namesOfAll(sids)).sort() };
    expect((await (await call("PUT", `/interview-sessions/${id}/legal-hold`, { hold: true })).json())).toEqual({ interview_session_id: id, legal_hold: true });
    const refused = await call("DELETE", `/interview-sessions/${id}`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe("LEGAL_HOLD");
    expect(await erasureOf(id)).toBeUndefined();
    // the retention pass skips it too, however old it is
    await sql`update interview_sessions set retention_days = 1, created_at = now() - interval '30 days' where id = ${id}`;
    await sql`update media_sessions set last_activity = now() - interval '30 days' where interview_session_id = ${id}`;
    if (reapers.length === 0) await startReaper();
    await Bun.sleep(1500); // several retention passes (every 300 ms)
    expect(await erasureOf(id)).toBeUndefined();
    expect({ rows: await rowsOf(id, sids), names: (await namesOfAll(sids)).sort() }).toEqual(before);

    expect((await call("PUT", `/interview-sessions/${id}/legal-hold`, { hold: false })).status).toBe(200);
    expect((await call("DELETE", `/interview-sessions/${id}`)).status).toBe(202);
    await waitDone(id);
    expect(await namesOfAll(sids)).toEqual([]);
    expect(await rowsOf(id, sids)).toEqual({ interviews: 0, sessions: 0, chunks: 0, frames: 0, events: 0 });
  }, 180_000);

  test("retention: the pass erases an interview past its retention (reason retention, no key id), keeps one with a longer retention of its own", async () => {
    const old = await stack.api.createInterview("old");
    const kept = Number(
      ((await (await call("POST", "/interview-sessions", { title: "kept", retention_days: 365 })).json()) as { interview_session_id: number }).interview_session_id,
    );
    expect((await (await call("PUT", `/interview-sessions/${old}/retention`, { retention_days: 2 })).json())).toEqual({ interview_session_id: old, retention_days: 2 });
    const oldSids = [await record(stack, old, 1, 1, 2)];
    const keptSids = [await record(stack, kept, 2, 1, 2)];
    // 3 days of silence for both: past 2 days, within 365
    for (const id of [old, kept]) {
      await sql`update interview_sessions set created_at = now() - interval '10 days' where id = ${id}`;
      await sql`update media_sessions set last_activity = now() - interval '3 days', started_at = now() - interval '3 days' where interview_session_id = ${id}`;
    }
    if (reapers.length === 0) await startReaper();
    const audit = await waitDone(old);
    expect(audit).toMatchObject({ reason: "retention", requested_by_key_id: null, media_sessions_deleted: 1 });
    expect(await namesOfAll(oldSids)).toEqual([]);
    expect(await rowsOf(old, oldSids)).toEqual({ interviews: 0, sessions: 0, chunks: 0, frames: 0, events: 0 });
    expect(await erasureOf(kept)).toBeUndefined();
    expect((await rowsOf(kept, keptSids)).frames).toBe(2);
    expect(await (await fetch(`${stack.gatewayUrl}/sessions/${keptSids[0]}/status`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).status).toBe(200);
  }, 180_000);

  test("a reaper killed (SIGKILL) in the middle of a big erasure: the next one resumes it and finishes, counting no blob twice", async () => {
    await Promise.all(reapers.splice(0).map((r) => r.stop("SIGKILL")));
    const FRAMES = 600;
    const id = await stack.api.createInterview("big");
    const sids = [await record(stack, id, 9, 2, FRAMES)];
    const total = (await namesOfAll(sids)).filter((n) => /chunk_|frame_|manifest\.json$/.test(n)).length;
    expect(total).toBe(2 + FRAMES + 1); // and its manifest
    expect((await call("DELETE", `/interview-sessions/${id}`)).status).toBe(202);

    // One delete at a time, small pages: the first reaper is killed after its first reported pages.
    const slow = { REAPER_ERASURE_CONCURRENCY: "1", REAPER_ERASURE_PAGE_SIZE: "5" };
    const t0 = performance.now();
    const first = await startReaper(slow);
    const midway = await eventually(async () => {
      const e = await erasureOf(id);
      return e && e.state === "running" && Number(e.blobs_deleted) >= 20 && e;
    }, 60_000, "the first reaper to be midway");
    await first.proc.stop("SIGKILL");
    const left = (await namesOfAll(sids)).filter((n) => /chunk_|frame_/.test(n)).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(total);
    expect(Number(midway.attempts)).toBe(1);

    await startReaper({ REAPER_ERASURE_CONCURRENCY: "8", REAPER_ERASURE_PAGE_SIZE: "100" });
    const audit = await waitDone(id, 120_000);
    timings.push(`killed_erasure_ms(${total} blobs, incl. a 3 s claim expiry)=${Math.round(performance.now() - t0)}`);
    expect(Number(audit!.attempts)).toBe(2);
    expect(await namesOfAll(sids)).toEqual([]);
    expect(await rowsOf(id, sids)).toEqual({ interviews: 0, sessions: 0, chunks: 0, frames: 0, events: 0 });
    // never more than there were; at most the one page the killed reaper deleted but never reported is missing
    const counted = Number(audit!.blobs_deleted);
    expect(counted).toBeLessThanOrEqual(total);
    expect(counted).toBeGreaterThanOrEqual(total - 5);
    expect(Number(audit!.rows_deleted)).toBe(total - 1 + 1 + 1); // the blobs' rows (the manifest has none), the capture event, the session
    console.log(`retention e2e [${backend.name}]: ${timings.join(" ")} counted=${counted}/${total}`);
  }, 240_000);
});
