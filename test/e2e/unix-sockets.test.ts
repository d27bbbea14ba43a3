/**
 * gRPC over Unix domain sockets: when the services share a host, STORAGE_GRPC_ADDR /
 * METADATA_GRPC_ADDR (the servers) and STORAGE_ADDR / METADATA_ADDR (the gateway) take grpc-js
 * `unix:/path` addresses instead of host:port (docs/deploy.md; TCP stays the default). The real
 * stack on sockets: the servers listen on their socket files, a session's blobs are acked, stored
 * and recorded as over TCP.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

let stack: Stack;
let sql: postgres.Sql;

beforeAll(async () => {
  stack = await startStack({ unixSockets: true });
  sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await stack?.stop();
});

test("the gateway reaches storage and metadata over their Unix sockets: acked, stored, recorded", async () => {
  for (const addr of [stack.storageAddr, stack.metadataAddr]) {
    expect(addr.startsWith("unix:")).toBe(true);
    expect(statSync(addr.slice("unix:".length)).isSocket()).toBe(true);
  }
  const interviewId = await stack.api.createInterview("unix sockets");
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, timestamp: new Date().toISOString(), token: await stack.api.mintToken(interviewId, 1, { sessionId: sid }) });
  expect(await c.reply()).toMatchObject({ type: "session_init_ack", session_id: sid, status: "ready" });
  const chunk = fakeWebm(50_000, 0);
  const frame = fakeJpeg(9_000, 0);
  const t = new Date().toISOString();
  c.send({ type: "audio_metadata", session_id: sid, chunk_index: 0, start_timestamp: t, end_timestamp: t, duration_ms: 10_000, size: chunk.length });
  c.sendBlob(sid, "audio", 0, chunk);
  expect(await c.next((m) => m.type === "audio_ack" || m.type === "error")).toEqual({ type: "audio_ack", chunk_index: 0 });
  c.send({ type: "frame_metadata", session_id: sid, frame_index: 0, chunk_index: 0, timestamp: t, offset_ms: 0, size: frame.length });
  c.sendBlob(sid, "frame", 0, frame);
  expect(await c.next((m) => m.type === "frame_ack" || m.type === "error")).toEqual({ type: "frame_ack", frame_index: 0 });
  c.close();

  expect(new Uint8Array(readFileSync(join(stack.mediaDir, sid, "audio", "chunk_0.webm")))).toEqual(chunk);
  expect(existsSync(join(stack.mediaDir, sid, "frames", "frame_0.jpg"))).toBe(true);
  const [row] = await sql`select a.sha256 from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid}`;
  expect(row?.sha256).toBe(new Bun.CryptoHasher("sha256").update(chunk).digest("hex"));
});
