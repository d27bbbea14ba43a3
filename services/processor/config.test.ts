import { describe, expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadProcessorConfig, thresholdEnvName } from "./config";

const TOKEN = "t".repeat(43);
const load = (env: Record<string, string> = {}) => loadProcessorConfig({ CANDID_INTERNAL_TOKEN: TOKEN, ...env });
function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe("processor config", () => {
  test("defaults", () => {
    const c = load();
    expect(c).toMatchObject({ kinds: ["audio", "frame"], concurrency: 2, leaseMs: 120_000, maxAttempts: 5, maxTransientAttempts: 30, transcriberAddr: "", minSpeechRatio: 0.02 });
    expect(c.thresholds.vadThreshold).toBe(0.5);
  });
  test("threshold names map to ANALYSIS_ variables, and are read and checked", () => {
    expect(thresholdEnvName("vadThreshold")).toBe("ANALYSIS_VAD_THRESHOLD");
    expect(thresholdEnvName("minSpeechMs")).toBe("ANALYSIS_MIN_SPEECH_MS");
    expect(load({ ANALYSIS_VAD_THRESHOLD: "0.6" }).thresholds.vadThreshold).toBe(0.6);
    expect(problems({ ANALYSIS_VAD_THRESHOLD: "2" }).join()).toContain("ANALYSIS_VAD_THRESHOLD");
    expect(problems({ ANALYSIS_MIN_SPEECH_MS: "abc" }).join()).toContain("ANALYSIS_MIN_SPEECH_MS");
  });
  test("bad settings are all reported at once", () => {
    const p = problems({ PROCESSOR_KINDS: "audio,video", PROCESSOR_CONCURRENCY: "0", TRANSCRIBER_ADDR: "x:1", TRANSCRIBER_OPENAI_URL: "http://y", PROCESSOR_MIN_SPEECH_RATIO: "2" });
    expect(p.length).toBe(4);
    expect(problems({ TRANSCRIBER_OPENAI_URL: "ftp://x" }).join()).toContain("http(s)");
    expect(problems({ PROCESSOR_MAX_TRANSIENT_ATTEMPTS: "2" }).join()).toContain("PROCESSOR_MAX_TRANSIENT_ATTEMPTS");
  });
});
