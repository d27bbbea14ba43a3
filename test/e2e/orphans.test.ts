/**
 * No orphan survives the sweeper, end to end: the real gateway, storage (local disk) and metadata
 * (PostgreSQL) processes, a protocol client, then the reaper.
 *  1. frames stream and are acked;
 *  2. the metadata service is killed (-9) while storage stays up: the frames sent now are stored
 *     but get no row and no ack: orphans on disk;
 *  3. metadata comes back; the client re-sends half of them, as the web client does (storage
 *     answers "identical", the row is inserted: the orphan is adopted) and gives up on the rest;
 *  4. the reaper runs with a short grace period: afterwards no file is without its row, no row
 *     without its file, and every acked frame has both, with equal SHA-256.
 * One line prints the counts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { checkHealth, healthClient } from "../../services/shared/grpc";
import { sha256Hex } from "../../services/storage/core/checksum";
import { type ServiceProc, freePort, httpOk, startService } from "../support/procs";
import { type Stack, startStack } from "../support/stack";
import { TestClient, fakeJpeg } from "../support/ws-client";

let stack: Stack;
let sql: postgres.Sql;
const extra: ServiceProc[] = [];

const T0 = Date.parse("2025-12-16T10:30:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** The gRPC port a service logged at start ("<name> listening"). */
function grpcPortOf(proc: ServiceProc): number {
  const line = proc.logs().find((l) => typeof l.grpcPort === "number");
  if (!line) throw new Error(`${proc.name} logged no grpcPort:\n${proc.output()}`);
  return line.grpcPort as number;
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
  // Info logs: the services' start lines name their gRPC ports. A short upstream deadline makes
  // the items sent while metadata is down fail fast.
  stack = await startStack({ logLevel: "info", gatewayEnv: { GATEWAY_UPSTREAM_TIMEOUT_MS: "1500" } });
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await Promise.all(extra.map((p) => p.stop()));
  await stack?.stop();
});

test("metadata down while storage is up: orphans on disk, none after the sweeper, every ack backed by blob and row", async () => {
  const metadataAddr = `127.0.0.1:${grpcPortOf(stack.metadata)}`;
  const storageAddr = `127.0.0.1:${grpcPortOf(stack.storage)}`;
  const interviewId = await stack.api.createInterview("orphans");
  const token = await stack.api.mintToken(interviewId, 1);
  const sid = crypto.randomUUID();
  const frames = Array.from({ length: 30 }, (_, i) => fakeJpeg(2000 + i, i));
  const acked = new Set<number>();

  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: 1, timestamp: iso(T0), token });
  expect((await c.reply()).type).toBe("session_init_ack");
  const send = (i: number) => {
    const n = c.messages.length;
    c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: 0, timestamp: iso(T0 + i * 2000), offset_ms: 0, size: frames[i]!.length });
    c.sendBlob(sid, "frame", i, frames[i]!);
    return c.next((m) => (m.type === "frame_ack" || m.type === "error") && (m as { frame_index?: number }).frame_index === i, 15_000, n);
  };
  const sendAll = async (indices: number[]) => {
    for (const i of indices) {
      const m = await send(i);
      if (m.type === "frame_ack") acked.add(i);
    }
  };

  // 1. all is well
  await sendAll([0, 1, 2, 3, 4]);
  expect(acked.size).toBe(5);

  // 2. metadata killed: frames 5..29 are stored but neither recorded nor acked
  await stack.metadata.stop("SIGKILL");
  await sendAll(Array.from({ length: 25 }, (_, i) => 5 + i));
  expect(acked.size).toBe(5);
  const dir = join(stack.mediaDir, sid, "frames");
  const onDisk = () => (existsSync(dir) ? readdirSync(dir).filter((f) => /^frame_\d+\.jpg$/.test(f)) : []);
  const rowsOf = async () =>
    (await sql`select f.frame_index, f.sha256, f.file_path from video_frames f join media_sessions m on m.id = f.media_session_id where m.session_id = ${sid}`).map((r) => ({
      index: Number(r.frame_index),
      sha256: r.sha256 as string,
      filePath: r.file_path as string,
    }));
  const orphansBefore = onDisk().length - (await rowsOf()).length;
  expect(orphansBefore).toBeGreaterThan(0);

  // 3. metadata back (same port, same database); the client re-sends 5..14 and gives up on 15..29
  const [mm] = [Number(new URL(stack.metadataMetricsUrl).port)];
  const health = healthClient(metadataAddr);
  const metadata = await startService({
    name: "metadata",
    entry: "services/metadata/main.ts",
    env: { DATABASE_URL: stack.db.url, METADATA_GRPC_ADDR: metadataAddr, METADATA_METRICS_PORT: String(mm), LOG_LEVEL: "warn" },
    ready: () => checkHealth(health),
  });
  health.close();
  extra.push(metadata);
  const retry = Array.from({ length: 10 }, (_, i) => 5 + i);
  await eventually(
    async () => {
      await sendAll(retry.filter((i) => !acked.has(i)));
      return retry.every((i) => acked.has(i));
    },
    30_000,
    "the re-sent frames to be acked",
  );
  c.close();
  const orphansAfterResend = onDisk().length - (await rowsOf()).length;

  // 4. the sweeper, with a grace period shorter than the age of every orphan
  await Bun.sleep(1100);
  const opsPort = await freePort();
  const reaper = await startService({
    name: "reaper",
    entry: "services/reaper/main.ts",
    env: {
      METADATA_ADDR: metadataAddr,
      STORAGE_ADDR: storageAddr,
      REAPER_METRICS_PORT: String(opsPort),
      REAPER_ORPHAN_GRACE_MS: "1000",
      REAPER_ORPHAN_INTERVAL_MS: "300",
      LOG_LEVEL: "warn",
    },
    ready: () => httpOk(`http://127.0.0.1:${opsPort}/readyz`),
  });
  extra.push(reaper);
  await eventually(async () => onDisk().length === (await rowsOf()).length, 30_000, "no orphan left");

  const rows = await rowsOf();
  const files = new Set(onDisk());
  // no file without its row, no row without its file, bytes as acked
  expect([...files].sort()).toEqual(rows.map((r) => `frame_${r.index}.jpg`).sort());
  for (const r of rows) {
    expect(r.filePath.endsWith(`${sid}/frames/frame_${r.index}.jpg`)).toBe(true);
    expect(sha256Hex(readFileSync(join(dir, `frame_${r.index}.jpg`)))).toBe(r.sha256);
    expect(r.sha256).toBe(sha256Hex(frames[r.index]!));
  }
  for (const i of acked) expect(files.has(`frame_${i}.jpg`)).toBe(true);
  expect(rows.length).toBe(acked.size);
  console.log(
    `orphans: sent=30 acked=${acked.size} orphans_when_metadata_down=${orphansBefore} after_resend=${orphansAfterResend} after_sweep=${onDisk().length - rows.length} acked_lost=${[...acked].filter((i) => !files.has(`frame_${i}.jpg`)).length}`,
  );
}, 120_000);
