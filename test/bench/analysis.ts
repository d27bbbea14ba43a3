/**
 * Analysis benchmark, two parts, every component real:
 *
 * 1. Cost per item of each analyzer, in this process (the processor's own code): decode, VAD and
 *    levels per 10 s WebM/Opus chunk (espeak-ng speech, encoded as the browser does), faces and
 *    quality per 640 px JPEG (the face-api package's photos); and Transcribe per chunk against the
 *    real Python transcriber over gRPC. From these: how many concurrent interviews (one 10 s chunk
 *    and five frames every 10 s) one processor core and one transcriber core keep up with.
 * 2. Lag at interview pace: the stack (gateway, storage fs, metadata PG) + one processor + one
 *    transcriber; N interviews each send a speech chunk every 10 s and a frame every 2 s for D
 *    seconds; lag = analyzed_at − received_at of every row (PostgreSQL's own clock), p50/p99.
 *
 *   bun test/bench/analysis.ts [--reps 10] [--interviews 4] [--seconds 40] [--out docs/bench/analysis.json]
 *
 * Not a timed test. Needs TEST_DATABASE_ADMIN_URL (source test/system-deps.sh) and the
 * transcriber's venv (CANDID_TRANSCRIBER_VENV, made by services/transcriber/setup-venv.sh).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import sharp from "sharp";
import { SileroAudioAnalyzer } from "../../services/processor/analyzers/audio-analyzer";
import { FaceApiFrameAnalyzer } from "../../services/processor/analyzers/frame-analyzer";
import { GrpcTranscriber } from "../../services/processor/adapters/transcriber-grpc";
import { freePort, grpcReady, httpOk, REPO_ROOT, type ServiceProc, startService } from "../support/procs";
import { encodeBrowserChunk, speakToWav, tempDir, venv } from "../support/speech";
import { startStack } from "../support/stack";
import { TestClient } from "../support/ws-client";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "10" },
    interviews: { type: "string", default: "4" },
    seconds: { type: "string", default: "40" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/analysis.json") },
  },
});
const reps = Number(values.reps);
const tmp = tempDir("candid-bench-analysis-");
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const med = (xs: number[]) => pct(xs, 50);
async function timeIt<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

speakToWav("Thank you for joining the interview today. Please tell me about a project you worked on last year, and what you learned from it.", tmp.file("s.wav"));
encodeBrowserChunk(tmp.file("s.wav"), tmp.file("s.webm"));
const chunk = new Uint8Array(readFileSync(tmp.file("s.webm")));
const demo = join(dirname(require.resolve("@vladmandic/face-api/package.json")), "demo");
const photos = await Promise.all(["sample1.jpg", "sample4.jpg", "sample6.jpg"].map(async (n) => new Uint8Array(await sharp(readFileSync(join(demo, n))).resize(640).jpeg({ quality: 80 }).toBuffer())));

// ---- 1. cost per item
const audio = new SileroAudioAnalyzer();
const frames = new FaceApiFrameAnalyzer();
const [loadAudioMs] = await timeIt(async () => audio.features(await audio.decode(chunk, "audio/webm")));
const [loadFacesMs] = await timeIt(() => frames.faces(photos[0]!));
const cost: Record<string, number[]> = { decode: [], vad_levels: [], faces: [], quality: [], transcribe: [] };
let pcm = await audio.decode(chunk, "audio/webm");
for (let i = 0; i < reps; i++) {
  const [d, p] = await timeIt(() => audio.decode(chunk, "audio/webm"));
  cost.decode!.push(d);
  pcm = p;
  cost.vad_levels!.push((await timeIt(() => audio.features(p)))[0]);
  const photo = photos[i % photos.length]!;
  cost.faces!.push((await timeIt(() => frames.faces(photo)))[0]);
  cost.quality!.push((await timeIt(() => frames.quality(photo, photos[(i + 1) % photos.length])))[0]);
}

const tvenv = venv("CANDID_TRANSCRIBER_VENV", "transcriber-venv", "--test");
const [tport, topsPort] = await Promise.all([freePort(), freePort()]);
const taddr = `127.0.0.1:${tport}`;
const threads = 2;
const transcriberProc: ServiceProc = await startService({
  name: "transcriber",
  entry: "services/transcriber/main.py",
  cmd: [join(tvenv, "bin", "python"), join(REPO_ROOT, "services/transcriber/main.py")],
  env: { TRANSCRIBER_PORT: String(tport), TRANSCRIBER_OPS_PORT: String(topsPort), TRANSCRIBER_THREADS: String(threads), LOG_LEVEL: "warn" },
  ready: () => grpcReady(taddr),
  timeoutMs: 60_000,
});
const { TEST_INTERNAL_TOKEN } = await import("../support/procs");
const transcriber = new GrpcTranscriber({ address: taddr, internalToken: TEST_INTERNAL_TOKEN, callTimeoutMs: 60_000 });
await transcriber.transcribe(pcm);
for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) cost.transcribe!.push((await timeIt(() => transcriber.transcribe(pcm)))[0]);

const m = Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, { median_ms: +med(v).toFixed(1), min_ms: +Math.min(...v).toFixed(1), max_ms: +Math.max(...v).toFixed(1) }]));
// One interview every 10 s: one chunk (decode + VAD/levels) and five frames (faces + quality).
const processorMsPer10s = med(cost.decode!) + med(cost.vad_levels!) + 5 * (med(cost.faces!) + med(cost.quality!));
const transcriberCoreMsPer10s = med(cost.transcribe!) * threads; // CTranslate2 keeps its threads busy
const perCore = { processor: Math.floor(10_000 / processorMsPer10s), transcriber: Math.floor(10_000 / transcriberCoreMsPer10s) };
console.log("cost per item (median [min-max] ms):");
for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(11)} ${v.median_ms} [${v.min_ms}-${v.max_ms}]`);
console.log(`model load: audio ${loadAudioMs.toFixed(0)} ms, faces ${loadFacesMs.toFixed(0)} ms`);
console.log(`interviews one core keeps up with: processor ${perCore.processor} (${processorMsPer10s.toFixed(0)} ms of work per interview per 10 s), transcriber ${perCore.transcriber} (${transcriberCoreMsPer10s.toFixed(0)} core-ms per chunk)`);

// ---- 2. lag at interview pace
const stack = await startStack({ logLevel: "error" });
const pport = await freePort();
const processor = await startService({
  name: "processor",
  entry: "services/processor/main.ts",
  env: { METADATA_ADDR: stack.metadataAddr, STORAGE_ADDR: stack.storageAddr, TRANSCRIBER_ADDR: taddr, PROCESSOR_HOST: "127.0.0.1", PROCESSOR_METRICS_PORT: String(pport), PROCESSOR_POLL_MS: "100", LOG_LEVEL: "error" },
  ready: () => httpOk(`http://127.0.0.1:${pport}/readyz`),
  timeoutMs: 60_000,
});
const interviews = Number(values.interviews);
const seconds = Number(values.seconds);
const T0 = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
await Promise.all(
  Array.from({ length: interviews }, async (_, n) => {
    const iv = await stack.api.createInterview("bench");
    const sid = crypto.randomUUID();
    const c = await TestClient.connect(stack.wsUrl);
    c.send({ type: "session_init", session_id: sid, timestamp: iso(T0), token: await stack.api.mintToken(iv, n + 1, { sessionId: sid }) });
    await c.next((x) => x.type === "session_init_ack");
    await Bun.sleep((n * 2000) / interviews); // spread the phases
    for (let t = 0; t * 2 < seconds; t++) {
      const f = photos[t % photos.length]!;
      c.send({ type: "frame_metadata", session_id: sid, frame_index: t, chunk_index: Math.floor(t / 5), timestamp: iso(T0 + t * 2000), offset_ms: (t % 5) * 2000, size: f.length });
      c.sendBlob(sid, "frame", t, f);
      if (t % 5 === 4) {
        const i = (t - 4) / 5;
        c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + i * 10_000 + 10_000), duration_ms: 10_000, size: chunk.length });
        c.sendBlob(sid, "audio", i, chunk);
      }
      await Bun.sleep(2000);
    }
    c.close();
  }),
);
const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
for (let i = 0; i < 120; i++) {
  const [r] = await sql<{ left: number }[]>`select (select count(*) from audio_chunks where not processed) + (select count(*) from video_frames where not processed) as left`;
  if (Number(r!.left) === 0) break;
  await Bun.sleep(500);
}
const lagRows = await sql<{ kind: string; ms: number }[]>`
  select 'audio' as kind, extract(epoch from analyzed_at - received_at) * 1000 as ms from audio_chunks where processed
  union all select 'frame', extract(epoch from analyzed_at - received_at) * 1000 from video_frames where processed`;
const lag = (k: string) => lagRows.filter((r) => r.kind === k).map((r) => Number(r.ms));
const lagOut = Object.fromEntries(["audio", "frame"].map((k) => [k, { n: lag(k).length, p50_ms: Math.round(pct(lag(k), 50)), p99_ms: Math.round(pct(lag(k), 99)) }]));
console.log(`lag at interview pace (${interviews} interviews, ${seconds} s): audio p50 ${lagOut.audio!.p50_ms} ms p99 ${lagOut.audio!.p99_ms} ms (n ${lagOut.audio!.n}); frames p50 ${lagOut.frame!.p50_ms} ms p99 ${lagOut.frame!.p99_ms} ms (n ${lagOut.frame!.n})`);

await sql.end();
await processor.stop();
transcriber.close();
await transcriberProc.stop();
await stack.stop();
tmp.cleanup();
const out = { machine: { cpus: cpus().length, model: cpus()[0]?.model }, reps, cost_per_item: m, model_load_ms: { audio: Math.round(loadAudioMs), faces: Math.round(loadFacesMs) }, interviews_per_core: perCore, lag: { interviews, seconds, ...lagOut } };
writeFileSync(values.out!, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${values.out}`);
process.exit(0);
