/**
 * Review benchmark (issue 12, docs/review.md), every component real:
 *
 * 1. On the stack (gateway, storage fs, metadata PostgreSQL, each its own process; then a reaper):
 *    record a long interview over the WebSocket as the browser does (--minutes of 10 s WebM/Opus
 *    chunks made as test/e2e/review.test.ts makes them: libopus from a looped 1 s chirp, each
 *    recorder starting 120 ms before the previous one stops, the recorded starts a few ms off; a
 *    small JPEG frame every 2 s), complete it, and measure:
 *      - the session_complete ack latency (the ack waits for the seal) and the manifest's size,
 *        next to a 1-chunk session's for scale;
 *      - GET /sessions/{id}/audio cold (read every chunk, stitch in the worker, encode) and warm
 *        (the cache), GET /timeline, POST /verify (every blob re-read and hashed), the export zip
 *        (bytes/s), all to the last byte;
 *      - an erasure: DELETE /interview-sessions/{id} until its erasures row is done (the reaper
 *        polls every 200 ms here), with the row's own requested/started/finished times.
 * 2. In this process: services/shared/media stitchSession() on the same chunks, split into
 *    decode / stitch / encode ms per 10 s chunk.
 *
 *   bun test/bench/review.ts [--minutes 30] [--reps 3] [--out docs/bench/review.json]
 *
 * Not a timed test. Needs TEST_DATABASE_ADMIN_URL (source test/system-deps.sh), ffmpeg.
 * Chunks with the same cut of the (periodic) chirp are the same bytes, so each distinct cut is
 * encoded once and reused.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import sharp from "sharp";
import { stitchSession } from "../../services/shared/media/stitch-session";
import { ffmpeg } from "../e2e/support/audio";
import { type Chirp, writeChirpWav } from "../e2e/support/chirp";
import { freePort, httpOk, REPO_ROOT, startService } from "../support/procs";
import { tempDir } from "../support/speech";
import { startStack } from "../support/stack";
import { TestClient } from "../support/ws-client";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    reps: { type: "string", default: "3" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/review.json") },
  },
});
const minutes = Number(values.minutes);
const reps = Number(values.reps);
const CHUNKS = minutes * 6;
const FRAMES = CHUNKS * 5;
const CHIRP: Chirp = { sampleRate: 48_000, seconds: 1, f0: 300, f1: 3300 };
const OVERLAP_MS = 120;
const JITTER_MS = [0, 25, -20, 10, -5];
const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const tmp = tempDir("candid-bench-review-");
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

// ---- media
writeChirpWav(tmp.file("chirp1.wav"), CHIRP);
await ffmpeg("-stream_loop", "-1", "-i", tmp.file("chirp1.wav"), "-t", "12", "-c:a", "pcm_s16le", tmp.file("chirp12.wav"));
const cuts = new Map<string, Uint8Array>();
const chunks: { startMs: number; endMs: number; bytes: Uint8Array }[] = [];
for (let k = 0; k < CHUNKS; k++) {
  // chunk k records [10k − overlap, 10k + 10] s of the looped chirp (the first from 0)
  const from = k === 0 ? 0 : k * 10 - OVERLAP_MS / 1000;
  const to = k * 10 + 10;
  const phase = +(from % 1).toFixed(3);
  const len = +(to - from).toFixed(3);
  const cut = `${phase}:${len}`;
  if (!cuts.has(cut)) {
    const f = tmp.file(`c${cuts.size}.webm`);
    await ffmpeg("-ss", String(phase), "-t", String(len), "-i", tmp.file("chirp12.wav"), "-c:a", "libopus", "-b:a", "32k", "-ar", "48000", "-ac", "1", "-f", "webm", f);
    cuts.set(cut, new Uint8Array(readFileSync(f)));
  }
  chunks.push({ startMs: T0 + Math.round(from * 1000) + JITTER_MS[k % JITTER_MS.length]!, endMs: T0 + to * 1000, bytes: cuts.get(cut)! });
}
const frames: Uint8Array[] = [];
for (let i = 0; i < FRAMES; i++) {
  frames.push(new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: (i * 17) % 255, g: (i * 5) % 255, b: 160 } } }).jpeg({ quality: 70 }).toBuffer()));
}
const chunkBytes = chunks.reduce((a, c) => a + c.bytes.length, 0);
const frameBytes = frames.reduce((a, f) => a + f.length, 0);
console.log(`${minutes} min: ${CHUNKS} chunks (${(chunkBytes / 1e6).toFixed(1)} MB), ${FRAMES} frames (${(frameBytes / 1024).toFixed(0)} KiB)`);

// ---- 1. the stack
const stack = await startStack({ logLevel: "warn" });
const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
const bearer = { authorization: `Bearer ${stack.apiKey}` };
const metric = async (name: string) => {
  const text = await (await fetch(stack.gatewayMetricsUrl)).text();
  return text.split("\n").filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.split(" ").pop()), 0);
};

/** Records a session; returns its id, the upload time and the session_complete ack latency. */
async function record(interview: number, audio: typeof chunks, pics: Uint8Array[]) {
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, timestamp: iso(T0), token: await stack.api.mintToken(interview, 7, { sessionId: sid }) });
  await c.next((m) => m.type === "session_init_ack");
  const t0 = performance.now();
  // one 10 s chunk and its five frames at a time, four groups in flight (well inside the gateway's limits)
  const inFlight: Promise<unknown>[] = [];
  for (let k = 0; k < audio.length; k++) {
    const acks: Promise<unknown>[] = [];
    const ch = audio[k]!;
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: k, start_timestamp: iso(ch.startMs), end_timestamp: iso(ch.endMs), duration_ms: ch.endMs - ch.startMs, size: ch.bytes.length });
    c.sendBlob(sid, "audio", k, ch.bytes);
    acks.push(c.next((m) => m.type === "audio_ack" && m.chunk_index === k, 60_000));
    for (let i = k * 5; i < Math.min(pics.length, k * 5 + 5); i++) {
      c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: k, timestamp: iso(T0 + i * 2000), offset_ms: (i % 5) * 2000, size: pics[i]!.length });
      c.sendBlob(sid, "frame", i, pics[i]!);
      acks.push(c.next((m) => m.type === "frame_ack" && m.frame_index === i, 60_000));
    }
    inFlight.push(Promise.all(acks));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const uploadMs = performance.now() - t0;
  const t1 = performance.now();
  c.send({ type: "session_complete", session_id: sid, total_chunks: audio.length, total_frames: pics.length });
  const ack = (await c.next((m) => m.type === "session_complete_ack", 120_000)) as unknown as Record<string, unknown>;
  const completeMs = performance.now() - t1;
  c.close();
  if ((ack.missing_chunks as unknown[] | undefined)?.length || (ack.missing_frames as unknown[] | undefined)?.length) throw new Error(`incomplete: ${JSON.stringify(ack)}`);
  return { sid, uploadMs, completeMs };
}

/** A request read to its last byte: ms, bytes, status. */
async function timed(method: string, path: string) {
  const t0 = performance.now();
  const r = await fetch(`${stack.gatewayUrl}${path}`, { method, headers: bearer });
  const body = new Uint8Array(await r.arrayBuffer());
  const ms = performance.now() - t0;
  if (r.status !== 200 && r.status !== 202) throw new Error(`${method} ${path}: HTTP ${r.status} ${new TextDecoder().decode(body.subarray(0, 300))}`);
  return { ms, bytes: body.byteLength, body };
}

/** Section 1; the stack (and the reaper) stop whatever happens. */
async function onStack() {
  let reaper: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    const small = await record(await stack.api.createInterview("bench small"), chunks.slice(0, 1), frames.slice(0, 5));
    const interview = await stack.api.createInterview("bench review");
    const big = await record(interview, chunks, frames);
    const manifestRow = (await sql<{ manifest_sha256: string | null }[]>`select manifest_sha256 from media_sessions where session_id = ${big.sid}`)[0]!;
    if (!manifestRow.manifest_sha256) throw new Error("the session was not sealed at session_complete");
    const manifest = await timed("GET", `/sessions/${big.sid}/manifest`);
    console.log(`upload ${(big.uploadMs / 1000).toFixed(1)} s; session_complete ack (with the seal): ${big.completeMs.toFixed(0)} ms for ${CHUNKS} chunks + ${FRAMES} frames (1 chunk + 5 frames: ${small.completeMs.toFixed(0)} ms); manifest ${(manifest.bytes / 1024).toFixed(0)} KiB`);

    const stitchSum0 = await metric("candid_gateway_stitch_duration_seconds_sum");
    const cold = await timed("GET", `/sessions/${big.sid}/audio`);
    const stitchInGatewayMs = ((await metric("candid_gateway_stitch_duration_seconds_sum")) - stitchSum0) * 1000;
    const warm: number[] = [];
    for (let i = 0; i < reps; i++) warm.push((await timed("GET", `/sessions/${big.sid}/audio`)).ms);
    const rssAfterStitch = await metric("candid_process_resident_memory_bytes");
    console.log(`audio: cold ${cold.ms.toFixed(0)} ms (stitch in the worker ${stitchInGatewayMs.toFixed(0)} ms), warm ${med(warm).toFixed(0)} ms; ${(cold.bytes / 1e6).toFixed(1)} MB Ogg Opus; gateway RSS ${(rssAfterStitch / 1e6).toFixed(0)} MB`);

    const timeline: number[] = [];
    for (let i = 0; i < reps; i++) timeline.push((await timed("GET", `/sessions/${big.sid}/timeline`)).ms);
    const tl = JSON.parse(new TextDecoder().decode((await timed("GET", `/sessions/${big.sid}/timeline`)).body)) as { duration_ms: number; gaps: unknown[] };
    const verify: number[] = [];
    let verifyReport: Record<string, unknown> = {};
    for (let i = 0; i < reps; i++) {
      const v = await timed("POST", `/sessions/${big.sid}/verify`);
      verify.push(v.ms);
      verifyReport = JSON.parse(new TextDecoder().decode(v.body)) as Record<string, unknown>;
    }
    if (verifyReport.ok !== true) throw new Error(`verify: ${JSON.stringify(verifyReport)}`);
    console.log(`timeline ${med(timeline).toFixed(0)} ms (track ${(tl.duration_ms / 60_000).toFixed(2)} min, ${tl.gaps.length} gaps); verify ${med(verify).toFixed(0)} ms (${verifyReport.summary})`);

    const exports: { ms: number; bytes: number }[] = [];
    for (let i = 0; i < reps; i++) exports.push(await timed("GET", `/interview-sessions/${interview}/export`));
    const exportMs = med(exports.map((e) => e.ms));
    const exportBytes = exports[0]!.bytes;
    console.log(`export ${(exportBytes / 1e6).toFixed(1)} MB in ${exportMs.toFixed(0)} ms: ${(exportBytes / 1e6 / (exportMs / 1000)).toFixed(1)} MB/s`);

    const ops = await freePort();
    reaper = await startService({
      name: "reaper",
      entry: "services/reaper/main.ts",
      env: { METADATA_ADDR: stack.metadataAddr, STORAGE_ADDR: stack.storageAddr, REAPER_METRICS_PORT: String(ops), REAPER_HOST: "127.0.0.1", REAPER_ORPHAN_SWEEP: "false", REAPER_ERASURE_INTERVAL_MS: "200", LOG_LEVEL: "warn" },
      ready: () => httpOk(`http://127.0.0.1:${ops}/readyz`),
    });
    const e0 = performance.now();
    const del = await timed("DELETE", `/interview-sessions/${interview}`);
    const deleteMs = del.ms;
    let row: Record<string, unknown> | undefined;
    for (;;) {
      row = (await sql`select state, blobs_deleted, blob_bytes_deleted, rows_deleted, extract(epoch from started_at - requested_at) * 1000 as wait_ms, extract(epoch from finished_at - started_at) * 1000 as run_ms from erasures where interview_session_id = ${interview}`)[0];
      if (row?.state === "done") break;
      if (performance.now() - e0 > 600_000) throw new Error(`erasure not done: ${JSON.stringify(row)}`);
      await Bun.sleep(50);
    }
    const erasureMs = performance.now() - e0;
    const erasure = { request_ms: r1(deleteMs), until_done_ms: Math.round(erasureMs), picked_up_after_ms: Math.round(Number(row.wait_ms)), run_ms: Math.round(Number(row.run_ms)), blobs_deleted: Number(row.blobs_deleted), blob_bytes_deleted: Number(row.blob_bytes_deleted), rows_deleted: Number(row.rows_deleted) };
    console.log(`erasure: DELETE ${deleteMs.toFixed(0)} ms, done after ${erasureMs.toFixed(0)} ms (picked up after ${erasure.picked_up_after_ms} ms, ran ${erasure.run_ms} ms): ${erasure.blobs_deleted} blobs, ${erasure.rows_deleted} rows`);
    return { big, small, manifest, cold, stitchInGatewayMs, warm, rssAfterStitch, timeline, tl, verify, exportMs, exportBytes, erasure };
  } finally {
    await reaper?.stop();
    await sql.end();
    await stack.stop();
  }
}
const { big, small, manifest, cold, stitchInGatewayMs, warm, rssAfterStitch, timeline, tl, verify, exportMs, exportBytes, erasure } = await onStack();

// ---- 2. stitchSession in this process
await stitchSession(chunks.slice(0, 3).map((c, i) => ({ chunkIndex: i, ...c })), { first: 0, last: 2 }); // load the WASM codecs
const inProcess: { decode: number; stitch: number; encode: number; total: number }[] = [];
for (let i = 0; i < Math.max(1, Math.min(reps, 2)); i++) {
  const t0 = performance.now();
  const s = await stitchSession(chunks.map((c, k) => ({ chunkIndex: k, ...c })), { first: 0, last: CHUNKS - 1 });
  inProcess.push({ ...s.ms, total: performance.now() - t0 });
  if (s.undecodable.length) throw new Error(`undecodable chunks ${s.undecodable}`);
}
const best = inProcess.reduce((a, b) => (b.total < a.total ? b : a));
const perChunk = { decode: r1(best.decode / CHUNKS), stitch: r1(best.stitch / CHUNKS), encode: r1(best.encode / CHUNKS) };
console.log(`stitchSession in process, per 10 s chunk: decode ${perChunk.decode} ms, stitch ${perChunk.stitch} ms, encode ${perChunk.encode} ms (${CHUNKS} chunks: ${(best.total / 1000).toFixed(1)} s, ${(CHUNKS * 10 / (best.total / 1000)).toFixed(0)}× real time)`);
tmp.cleanup();

const out = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  recording: { minutes, chunks: CHUNKS, frames: FRAMES, chunk_bytes: chunkBytes, frame_bytes: frameBytes, reps },
  seal: { upload_ms: Math.round(big.uploadMs), session_complete_ack_ms: Math.round(big.completeMs), session_complete_ack_ms_1_chunk: Math.round(small.completeMs), manifest_bytes: manifest.bytes },
  audio: { cold_ms: Math.round(cold.ms), stitch_in_worker_ms: Math.round(stitchInGatewayMs), warm_ms: r1(med(warm)), ogg_bytes: cold.bytes, gateway_rss_bytes: rssAfterStitch },
  timeline: { median_ms: r1(med(timeline)), track_duration_ms: tl.duration_ms, gaps: tl.gaps.length },
  verify: { median_ms: Math.round(med(verify)), blobs: CHUNKS + FRAMES },
  export: { median_ms: Math.round(exportMs), bytes: exportBytes, mb_per_s: r1(exportBytes / 1e6 / (exportMs / 1000)) },
  erasure,
  stitch_in_process: { total_ms: Math.round(best.total), per_chunk_ms: perChunk, realtime_factor: Math.round((CHUNKS * 10) / (best.total / 1000)) },
};
writeFileSync(values.out!, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${values.out}`);
process.exit(0);
