/**
 * Reaper against a real metadata service and PostgreSQL, each as its own process (as in k8s):
 * a session whose last_activity is older than REAPER_IDLE_MS becomes `abandoned`, a fresh one
 * stays `active`, the reaper logs the id and counts it in /metrics, /readyz follows the
 * metadata service's health, and SIGTERM ends the reaper promptly with exit code 0.
 *
 * Needs PostgreSQL at TEST_DATABASE_ADMIN_URL (default postgres://postgres:postgres@127.0.0.1:5432/postgres,
 * see test/system-deps.sh); each run creates its own database and drops it afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { MetadataServiceClient, SessionStatus } from "../../proto/gen/media/v1/metadata";
import { checkHealth, healthClient, internalClient } from "../../services/shared/grpc";
import { type TestDatabase, adminUrl, createTestDatabase } from "../support/postgres";
import { type ServiceProc, freePort, httpOk, startService, TEST_INTERNAL_TOKEN } from "../support/procs";

const IDLE_MS = 60_000;

let db: TestDatabase | undefined;
let metadata: ServiceProc | undefined;
let reaper: ServiceProc | undefined;
let metadataAddr = "";
let reaperOps = "";
let client: MetadataServiceClient;
let sql: postgres.Sql;

function unary<Req, Res>(fn: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn(req, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

const openSession = (sessionId: string) =>
  unary(client.openSession.bind(client), { sessionId, interviewSessionId: 0, hasInterviewSessionId: false, userId: 0, hasUserId: false, storagePath: `sessions/${sessionId}`, ownerInstance: "gw-1" });
const sessionStatus = async (sessionId: string) => (await unary(client.getSessionStatus.bind(client), { sessionId })).session?.status;

async function metricValue(name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${reaperOps}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  if (!line) throw new Error(`metric ${name}{${labels}} not found in:\n${text}`);
  return Number(line.split(" ").at(-1));
}

async function eventually(cond: () => Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

beforeAll(async () => {
  try {
    db = await createTestDatabase("candid_reaper");
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at TEST_DATABASE_ADMIN_URL (${adminUrl().replace(/:[^:@/]*@/, ":***@")}): ${(e as Error).message}. Run: source test/system-deps.sh`);
  }
  sql = postgres(db.url, { max: 1, onnotice: () => {} });

  const grpcPort = await freePort();
  metadataAddr = `127.0.0.1:${grpcPort}`;
  const health = healthClient(metadataAddr);
  metadata = await startService({
    name: "metadata",
    entry: "services/metadata/main.ts",
    env: { METADATA_GRPC_ADDR: metadataAddr, METADATA_METRICS_PORT: String(await freePort()), DATABASE_URL: db.url, DATABASE_POOL_MAX: "4", LOG_LEVEL: "warn" },
    ready: () => checkHealth(health),
  });
  health.close();
  client = internalClient(MetadataServiceClient, metadataAddr, TEST_INTERNAL_TOKEN);

  const opsPort = await freePort();
  reaperOps = `http://127.0.0.1:${opsPort}`;
  reaper = await startService({
    name: "reaper",
    entry: "services/reaper/main.ts",
    // No storage here: the orphan sweeper has its own test (orphan-sweep.test.ts).
    env: { METADATA_ADDR: metadataAddr, REAPER_INTERVAL_MS: "200", REAPER_IDLE_MS: String(IDLE_MS), REAPER_BATCH_LIMIT: "100", REAPER_METRICS_PORT: String(opsPort), REAPER_ORPHAN_SWEEP: "false", LOG_LEVEL: "info" },
    ready: () => httpOk(`${reaperOps}/readyz`),
  });
});

afterAll(async () => {
  client?.close();
  await reaper?.stop();
  await metadata?.stop();
  await sql?.end();
  await db?.drop();
});

describe("reaper", () => {
  test("abandons a session idle longer than REAPER_IDLE_MS, leaves a fresh one active, and counts it", async () => {
    const idle = crypto.randomUUID();
    const fresh = crypto.randomUUID();
    await openSession(idle);
    await openSession(fresh);
    expect(await sessionStatus(idle)).toBe(SessionStatus.SESSION_STATUS_ACTIVE);

    const before = await metricValue("candid_reaper_sessions_abandoned_total");
    await sql`UPDATE media_sessions SET last_activity = now() - make_interval(secs => ${(IDLE_MS * 2) / 1000}) WHERE session_id = ${idle}`;

    await eventually(async () => (await sessionStatus(idle)) === SessionStatus.SESSION_STATUS_ABANDONED, 10_000, "the idle session to be abandoned");
    expect(await sessionStatus(fresh)).toBe(SessionStatus.SESSION_STATUS_ACTIVE);

    await eventually(async () => (await metricValue("candid_reaper_sessions_abandoned_total")) === before + 1, 5_000, "the abandoned counter");
    expect(await metricValue("candid_reaper_runs_total", 'result="ok"')).toBeGreaterThan(0);
    const logged = reaper!.logs().filter((l) => l.msg === "session abandoned");
    expect(logged.map((l) => l.sessionId)).toEqual([idle]);

    // Later runs find nothing more to do: the session is counted once.
    await Bun.sleep(600);
    expect(await metricValue("candid_reaper_sessions_abandoned_total")).toBe(before + 1);
  });

  test("/readyz follows the metadata service; runs fail but the reaper stays up; SIGTERM exits 0", async () => {
    await metadata!.stop();
    await eventually(async () => (await fetch(`${reaperOps}/readyz`)).status === 503, 5_000, "/readyz to report not ready");
    expect((await fetch(`${reaperOps}/healthz`)).status).toBe(200);
    await eventually(async () => (await metricValue("candid_reaper_runs_total", 'result="error"')) > 0, 5_000, "a failed run to be counted");
    expect(reaper!.proc.exitCode).toBeNull();

    const t0 = Date.now();
    expect(await reaper!.stop("SIGTERM")).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
