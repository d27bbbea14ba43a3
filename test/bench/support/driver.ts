/**
 * @module driver
 * The simulated sessions the full-stack benchmarks drive (ack-throughput, soak): each session
 * mints its upload token, connects, sends `session_init`, then alternates audio chunks and frames
 * of `size` bytes (metadata message + binary frame), at most `window` unacked, and counts an item
 * done at its ack.
 *
 * `closed` pace sends the next blob as soon as one is acked (the stack's capacity); `interview`
 * pace sends what a real interview sends, a frame every 2 s and an audio chunk every 10 s (0.6
 * blobs/s), each session at a random phase of both.
 *
 * @example
 * const d = sessionDriver({ stack, interviewId, pace: "interview", window: 8, size: 51_200 });
 * await d.runAll(1000, performance.now() + 60_000);
 * console.log(d.stats.acked, d.stats.errors);
 */
import { statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import type { BlobKind } from "../../../proto/wire";
import type { Stack } from "../../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../../support/ws-client";

export type Pace = "closed" | "interview";

/** Interview pace: one frame per tick, an audio chunk every 5th tick. */
export const FRAME_EVERY_MS = 2_000;
export const CHUNK_EVERY_TICKS = 5;
/** Blobs per second one session sends at interview pace. */
export const INTERVIEW_BLOBS_PER_S = (1 + 1 / CHUNK_EVERY_TICKS) / (FRAME_EVERY_MS / 1000);

/**
 * Gateway settings for a benchmark: every session connects from 127.0.0.1, as fast as it can, so
 * the abuse limits (docs/security.md) are raised out of the way; the benchmark measures
 * throughput, not the per-IP cap or the message rate.
 */
export function benchLimits(sessions: number): Record<string, string> {
  return {
    GATEWAY_MAX_CONNECTIONS: String(Math.max(10_000, sessions * 2)),
    GATEWAY_MAX_CONNECTIONS_PER_IP: String(Math.max(10_000, sessions * 2)),
    GATEWAY_MAX_MESSAGES_PER_S: "1000000000",
    GATEWAY_MESSAGE_BURST: "1000000000",
    GATEWAY_INIT_TIMEOUT_MS: "600000", // thousands of sessions connecting at once wait for their acks
    GATEWAY_MAX_TOTAL_BUFFERED_BYTES: String(64 * 2 ** 30),
  };
}

/** Exits (status 1) when the folder the blobs go to has less than `minGiB` free. */
export function requireFreeDisk(mediaParent: string | undefined, minGiB: number, what: string): void {
  const fsStat = statfsSync(mediaParent ?? tmpdir());
  const freeGiB = (fsStat.bavail * fsStat.bsize) / 2 ** 30;
  if (freeGiB < minGiB) {
    console.error(`${what}: only ${freeGiB.toFixed(1)} GiB free where the blobs go (needs ${minGiB.toFixed(1)}); delete old runs (--keep-media leaves them) first`);
    process.exit(1);
  }
}

/** What the sessions saw; callers may reset the fields between phases (warm-up, sample windows). */
export interface DriverStats {
  /** Client-side ack latency (ms, blob sent to its ack received) of every ack since the last reset. */
  latencies: number[];
  acked: number;
  /** `error` messages received. */
  errors: number;
  /** Sessions connected (session_init_ack received) and not yet closed. */
  open: number;
}

export interface DriverOptions {
  stack: Stack;
  /** The interview every session's token is minted for. */
  interviewId: number;
  pace: Pace;
  /** Blobs a session keeps unacked at most. */
  window: number;
  /** Bytes per blob. */
  size: number;
}

export interface Driver {
  stats: DriverStats;
  /** Runs session number `s` (its user id) until `deadline` (performance.now() ms), then until its in-flight blobs are acked. */
  runSession(s: number, deadline: number): Promise<void>;
  /** Runs `sessions` sessions at once until `deadline`. */
  runAll(sessions: number, deadline: number): Promise<void>;
}

export function sessionDriver({ stack, interviewId, pace, window, size }: DriverOptions): Driver {
  const stats: DriverStats = { latencies: [], acked: 0, errors: 0, open: 0 };
  const interviewPace = pace === "interview";
  // Pre-built payloads: the driver shares 2 cores with the stack, so it must stay cheap.
  const audio = Array.from({ length: 4 }, (_, i) => fakeWebm(size, i));
  const frame = Array.from({ length: 4 }, (_, i) => fakeJpeg(size, i));

  async function runSession(s: number, deadline: number) {
    const sid = crypto.randomUUID();
    // As an interview platform does: one upload token per candidate's session, minted before the
    // session connects, so the timed part is the protocol's.
    const token = await stack.api.mintToken(interviewId, s, { sessionId: sid });
    const c = await TestClient.connect(stack.wsUrl);
    c.send({ type: "session_init", session_id: sid, token, timestamp: new Date().toISOString() });
    await c.next((m) => m.type === "session_init_ack");
    stats.open++;
    const sentAt = new Map<string, number>();
    const nextIndex = { audio: 0, frame: 0 };
    let sent = 0;
    let inFlight = 0;
    /** Interview pace: items whose time has come, not sent yet (the window was full). */
    const due: BlobKind[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const over = () => performance.now() >= deadline;
    const sendOne = (kind: BlobKind) => {
      const index = nextIndex[kind]++;
      const blob = (kind === "audio" ? audio : frame)[index % 4]!;
      const t = new Date().toISOString();
      c.send(
        kind === "audio"
          ? { type: "audio_metadata", session_id: sid, chunk_index: index, start_timestamp: t, end_timestamp: t, duration_ms: 10_000, size }
          : { type: "frame_metadata", session_id: sid, frame_index: index, chunk_index: index, timestamp: t, offset_ms: 0, size },
      );
      sentAt.set(`${kind}:${index}`, performance.now());
      c.sendBlob(sid, kind, index, blob);
      inFlight++;
    };
    const pump = () => {
      while (inFlight < window && !over()) {
        const kind = interviewPace ? due.shift() : sent++ % 2 === 0 ? "audio" : "frame";
        if (!kind) break;
        sendOne(kind);
      }
      if (inFlight === 0 && over()) done();
    };
    let ticker: ReturnType<typeof setInterval> | undefined;
    let starter: ReturnType<typeof setTimeout> | undefined;
    if (interviewPace) {
      // A random phase for both cadences: sessions that started together would otherwise all send
      // their audio chunk in the same 2 s of every 10.
      let tick = Math.floor(Math.random() * CHUNK_EVERY_TICKS);
      const onTick = () => {
        if (tick++ % CHUNK_EVERY_TICKS === 0) due.push("audio");
        due.push("frame");
        pump();
        if (over()) clearInterval(ticker);
      };
      starter = setTimeout(() => {
        onTick();
        ticker = setInterval(onTick, FRAME_EVERY_MS);
      }, Math.random() * FRAME_EVERY_MS);
    }
    c.ws.addEventListener("message", (e) => {
      const m = JSON.parse(e.data as string);
      const key = m.type === "audio_ack" ? `audio:${m.chunk_index}` : m.type === "frame_ack" ? `frame:${m.frame_index}` : null;
      if (m.type === "error") stats.errors++;
      if (!key && m.type !== "error") return;
      if (key) {
        stats.latencies.push(performance.now() - sentAt.get(key)!);
        sentAt.delete(key);
        stats.acked++;
      }
      inFlight--;
      pump();
    });
    pump();
    await finished;
    clearTimeout(starter);
    clearInterval(ticker);
    c.close();
    stats.open--;
  }

  return {
    stats,
    runSession,
    runAll: async (sessions, deadline) => {
      await Promise.all(Array.from({ length: sessions }, (_, s) => runSession(s, deadline)));
    },
  };
}

/** The value under which `p` percent of `sorted` (ascending) falls; 0 when empty. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
