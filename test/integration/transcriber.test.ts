/**
 * The real transcriber (services/transcriber, Python, faster-whisper tiny.en) as its own process,
 * from the venv in CANDID_TRANSCRIBER_VENV, called through the processor's GrpcTranscriber over
 * real gRPC: espeak-ng speech comes back as the sentence's words with ordered times; refusals
 * (wrong rate, too long, wrong token, a deadline too short) arrive as the AppErrors the work loop
 * expects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GrpcTranscriber } from "../../services/processor/adapters/transcriber-grpc";
import type { Pcm } from "../../services/processor/core/ports";
import { AppError } from "../../services/shared/errors";
import { REPO_ROOT, type ServiceProc, TEST_INTERNAL_TOKEN, freePort, grpcReady, startService } from "../support/procs";
import { SENTENCE, speak, venv, words } from "../support/speech";

let svc: ServiceProc;
let addr: string;
let speech: Pcm;
const open: GrpcTranscriber[] = [];
const client = (token = TEST_INTERNAL_TOKEN, callTimeoutMs = 30_000) => {
  const c = new GrpcTranscriber({ address: addr, internalToken: token, callTimeoutMs });
  open.push(c);
  return c;
};

async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected a rejection"),
    (e) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  const dir = venv("CANDID_TRANSCRIBER_VENV", "transcriber-venv", "--test");
  const [port, opsPort] = await Promise.all([freePort(), freePort()]);
  addr = `127.0.0.1:${port}`;
  [svc, speech] = await Promise.all([
    startService({
      name: "transcriber",
      entry: "services/transcriber/main.py",
      cmd: [join(dir, "bin", "python"), join(REPO_ROOT, "services/transcriber/main.py")],
      env: { TRANSCRIBER_PORT: String(port), TRANSCRIBER_OPS_PORT: String(opsPort), LOG_LEVEL: "debug" },
      ready: () => grpcReady(addr),
      timeoutMs: 60_000,
    }),
    speak(SENTENCE),
  ]);
}, 90_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  expect(await svc?.stop()).toBe(0);
});

describe("GrpcTranscriber against services/transcriber", () => {
  test("transcribes espeak-ng speech: the sentence's words, in order, with times inside the audio", async () => {
    const t = await client().transcribe(speech, { language: "en" });
    const said = words(SENTENCE);
    const heard = t.words.map((w) => words(w.text).join(""));
    const missing = said.filter((w) => !heard.includes(w));
    expect(missing.length).toBeLessThanOrEqual(2); // measured: 0 of 24
    expect(words(t.text).length).toBeGreaterThanOrEqual(said.length - 2);
    expect(t.language).toBe("en");
    expect(t.model).toBe("faster-whisper tiny.en int8");
    const audioMs = (speech.samples.length / speech.sampleRate) * 1000;
    let prev = 0;
    for (const w of t.words) {
      expect(w.startMs).toBeGreaterThanOrEqual(prev);
      expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
      expect(w.endMs).toBeLessThanOrEqual(audioMs);
      prev = w.startMs;
    }
  }, 60_000);

  test("silence: no words", async () => {
    const t = await client().transcribe({ samples: new Float32Array(16000 * 5), sampleRate: 16000 });
    expect(t.text).toBe("");
    expect(t.words).toEqual([]);
  }, 30_000);

  test("a rate other than 16 kHz is refused on this side, before any call", async () => {
    const err = await appError(client().transcribe({ samples: new Float32Array(8000), sampleRate: 8000 }));
    expect(err.code).toBe("INVALID_MESSAGE");
    expect(err.message).toContain("16000 Hz");
  });

  test("audio over 60 s is refused by the service as INVALID_MESSAGE, and it serves on", async () => {
    const err = await appError(client().transcribe({ samples: new Float32Array(16000 * 61), sampleRate: 16000 }));
    expect(err.code).toBe("INVALID_MESSAGE");
    expect(err.message).toContain("at most 60 s");
    expect(await grpcReady(addr)).toBe(true);
  }, 30_000);

  test("a wrong internal token is refused (INTERNAL on this side, naming CANDID_INTERNAL_TOKEN)", async () => {
    const err = await appError(client(`wrong-${TEST_INTERNAL_TOKEN}`).transcribe(speech));
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toContain("CANDID_INTERNAL_TOKEN");
    expect(svc.output()).not.toContain(TEST_INTERNAL_TOKEN);
  });

  test("a deadline too short for the call is UPSTREAM_UNAVAILABLE (the work loop retries)", async () => {
    const err = await appError(client(TEST_INTERNAL_TOKEN, 5).transcribe(speech));
    expect(err.code).toBe("UPSTREAM_UNAVAILABLE");
  }, 30_000);
});
