/**
 * Review-audio benchmark: what GET /sessions/{sid}/audio costs the gateway (services/shared/media).
 *
 * Chunks are made the way the browser stores them (ffmpeg libopus, 32 kbps WebM, test/support/
 * speech.ts) from a 1 s linear sweep played on a loop (test/e2e/support/chirp.ts). A 10 s chunk
 * holds whole periods of it, so chunk k ≥ 1 (10.12 s: it starts 120 ms before chunk k−1 ends, as
 * web/src/lib/capture.ts records) is the same file for every k and its opening truly matches the
 * previous chunk's tail: a 30-minute session of 180 chunks costs two encodes, and the stitcher's
 * correlation finds real overlaps, as in a recording. Recorded starts carry ±5 ms of jitter.
 *
 * Measured (medians of --reps runs, this process unless said):
 *  - decode: one 10 s chunk → 48 kHz PCM (audio-decode.ts, the processor's decoder);
 *  - encode: 10 s of PCM → Opus packets (opus-encode.ts) + the Ogg pages (ogg-opus.ts);
 *  - stitch: aligning and assembling the 180 decoded chunks (stitch.ts), per session and per boundary;
 *  - session: stitchSession() on the 180 chunks end to end, in this process and through
 *    createStitcher({ workers: 1 }) (a Bun Worker); worker overhead = the difference, and for a
 *    3-chunk session the first call (the thread starts, loads the WASM) and a warm one.
 *
 *   bun test/bench/stitch.ts [--reps 5] [--chunks 180] [--out docs/bench/stitch.json]
 *
 * Not a timed test; needs ffmpeg.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeChunk } from "../../services/shared/media/audio-decode";
import { writeOggOpus } from "../../services/shared/media/ogg-opus";
import { encodeOpus } from "../../services/shared/media/opus-encode";
import { STITCH_RATE, stitch } from "../../services/shared/media/stitch";
import { type SessionChunk, stitchSession } from "../../services/shared/media/stitch-session";
import { createStitcher } from "../../services/shared/media/stitch-worker";
import { chirpSamples } from "../e2e/support/chirp";
import { REPO_ROOT } from "../support/procs";
import { encodeBrowserChunk, tempDir, writeWav } from "../support/speech";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    chunks: { type: "string", default: "180" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/stitch.json") },
  },
});
const reps = Math.max(1, Number(values.reps));
const nChunks = Math.max(2, Number(values.chunks));
const R = STITCH_RATE;
const OVERLAP_MS = 120;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mib = (b: number) => round(b / 2 ** 20, 0);
async function timeIt<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

// ---- the two chunk files
const tmp = tempDir("candid-bench-stitch-");
const period = chirpSamples({ sampleRate: R, seconds: 1, f0: 300, f1: 3300 });
const loop = (fromSample: number, n: number) => {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = period[(((fromSample + i) % R) + R) % R]!;
  return out;
};
const overlapSamples = (OVERLAP_MS * R) / 1000;
writeWav(tmp.file("c0.wav"), loop(0, 10 * R), R);
writeWav(tmp.file("ck.wav"), loop(-overlapSamples, 10 * R + overlapSamples), R);
encodeBrowserChunk(tmp.file("c0.wav"), tmp.file("c0.webm"), { seconds: 10 });
encodeBrowserChunk(tmp.file("ck.wav"), tmp.file("ck.webm"), { seconds: 10 + OVERLAP_MS / 1000 });
const first = new Uint8Array(readFileSync(tmp.file("c0.webm")));
const later = new Uint8Array(readFileSync(tmp.file("ck.webm")));
tmp.cleanup();

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
let seed = 12345;
const jitter = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed % 11) - 5; // ±5 ms
};
function session(n: number): SessionChunk[] {
  return Array.from({ length: n }, (_, k) => {
    const from = k === 0 ? 0 : k * 10_000 - OVERLAP_MS;
    return { chunkIndex: k, startMs: T0 + from + jitter(), endMs: T0 + (k + 1) * 10_000, bytes: k === 0 ? first : later };
  });
}

// ---- per chunk
const decodeMs: number[] = [];
let pcm10: Float32Array = new Float32Array();
for (let i = 0; i < reps + 1; i++) {
  const [ms, p] = await timeIt(() => decodeChunk(later, "audio/webm", R));
  if (i > 0) decodeMs.push(ms); // the first call instantiates the WASM
  pcm10 = p.samples.subarray(0, 10 * R);
}
const encodeMs: number[] = [];
let bytes10 = 0;
for (let i = 0; i < reps + 1; i++) {
  const [ms, ogg] = await timeIt(() => {
    const e = encodeOpus(pcm10);
    return writeOggOpus({ packets: e.packets, frameSamples: e.frameSamples, preSkip: e.preSkip, totalSamples: pcm10.length });
  });
  if (i > 0) encodeMs.push(ms);
  bytes10 = ogg.length;
}

// ---- stitch alone, on the decoded session
const chunks = session(nChunks);
const decoded = await Promise.all(
  chunks.map(async (c) => ({ chunkIndex: c.chunkIndex, startMs: c.startMs, endMs: c.endMs, pcm: (await decodeChunk(c.bytes, "audio/webm", R)).samples })),
);
const stitchMs: number[] = [];
let plan = stitch(decoded, { first: 0, last: nChunks - 1 });
for (let i = 0; i < Math.min(reps, 3); i++) {
  const [ms, p] = await timeIt(() => stitch(decoded, { first: 0, last: nChunks - 1 }));
  stitchMs.push(ms);
  plan = p;
}
const byCorrelation = plan.alignments.filter((a) => a.by === "correlation").length;
const corrections = plan.alignments.map((a) => Math.abs(a.correctionMs));
decoded.length = 0;

// ---- the whole session, in this process
Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
const inProcess: number[] = [];
let last = await stitchSession(chunks, { first: 0, last: nChunks - 1 });
const rssAfter = process.memoryUsage().rss;
for (let i = 0; i < Math.min(reps, 2); i++) {
  const [ms, r] = await timeIt(() => stitchSession(chunks, { first: 0, last: nChunks - 1 }));
  inProcess.push(ms);
  last = r;
}

// ---- through the worker
const stitcher = createStitcher({ workers: 1 });
const small = session(3);
const [coldMs] = await timeIt(() => stitcher.stitch(small, { first: 0, last: 2 }));
const warmSmall: number[] = [];
for (let i = 0; i < reps; i++) warmSmall.push((await timeIt(() => stitcher.stitch(small, { first: 0, last: 2 })))[0]);
const inProcessSmall: number[] = [];
for (let i = 0; i < reps; i++) inProcessSmall.push((await timeIt(() => stitchSession(small, { first: 0, last: 2 })))[0]);
const viaWorker: number[] = [];
let lastWorker = last;
for (let i = 0; i < Math.min(reps, 2); i++) {
  const [ms, r] = await timeIt(() => stitcher.stitch(chunks, { first: 0, last: nChunks - 1 }));
  viaWorker.push(ms);
  lastWorker = r;
}
stitcher.close();
if (lastWorker.ogg.length !== last.ogg.length) throw new Error(`the worker's track differs in size: ${lastWorker.ogg.length} vs ${last.ogg.length}`);

const seconds = last.timeline.durationMs / 1000;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "", bun: Bun.version },
  reps,
  chunk: {
    decode_ms: round(med(decodeMs)),
    encode_ms: round(med(encodeMs)),
    ogg_bytes_10s: bytes10,
  },
  session: {
    chunks: nChunks,
    duration_s: round(seconds, 2),
    gaps: last.timeline.gaps.length,
    aligned_by_correlation: `${byCorrelation}/${plan.alignments.length}`,
    max_correction_ms: Math.max(0, ...corrections),
    stitch_ms: round(med(stitchMs)),
    stitch_ms_per_boundary: round(med(stitchMs) / (nChunks - 1), 2),
    total_ms_in_process: round(med(inProcess)),
    breakdown_ms: { decode: round(last.ms.decode), stitch: round(last.ms.stitch), encode: round(last.ms.encode) },
    total_ms_via_worker: round(med(viaWorker)),
    worker_overhead_ms: round(med(viaWorker) - med(inProcess)),
    ogg_bytes: last.ogg.length,
    ogg_kbps: round((last.ogg.length * 8) / seconds / 1000, 1),
    rss_growth_mib_in_process: mib(rssAfter - rssBefore),
  },
  worker_small_session: {
    chunks: 3,
    first_call_ms: round(coldMs),
    warm_ms: round(med(warmSmall)),
    in_process_ms: round(med(inProcessSmall)),
    overhead_ms: round(med(warmSmall) - med(inProcessSmall)),
  },
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(values.out!, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${values.out}`);
