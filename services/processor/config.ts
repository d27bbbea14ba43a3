/**
 * @module processor/config
 * Every setting of the processor, read once at start-up by main.ts (the analyzers' thresholds
 * too: analyzers/thresholds.ts names them, docs/analysis.md lists them).
 *
 * | variable                    | default          | meaning                                                        |
 * |-----------------------------|------------------|----------------------------------------------------------------|
 * | METADATA_ADDR               | 127.0.0.1:50052  | the metadata service (AnalysisService)                         |
 * | STORAGE_ADDR                | 127.0.0.1:50051  | the storage service (GetBlob)                                  |
 * | TRANSCRIBER_ADDR            | (empty)          | the transcriber's gRPC address; empty: no gRPC transcriber     |
 * | TRANSCRIBER_OPENAI_URL      | (empty)          | base URL of an OpenAI-compatible /v1/audio/transcriptions API  |
 * | TRANSCRIBER_OPENAI_MODEL    | whisper-1        | model name sent to that API                                    |
 * | TRANSCRIBER_OPENAI_API_KEY  | (empty)          | its bearer key (never logged)                                  |
 * | TRANSCRIBER_TIMEOUT_MS      | 60000            | deadline of one transcription                                  |
 * | TRANSCRIBER_LANGUAGE        | en               | language asked for ("" = detect)                               |
 * | PROCESSOR_KINDS             | audio,frame      | what this replica analyses                                     |
 * | PROCESSOR_CONCURRENCY       | 2                | items analysed at once                                         |
 * | PROCESSOR_CLAIM_BATCH       | 4                | items per claim call                                           |
 * | PROCESSOR_POLL_MS           | 500              | pause when nothing is left to claim, ms                        |
 * | PROCESSOR_LEASE_MS          | 120000           | how long a claim lasts; a killed worker's items return then    |
 * | PROCESSOR_MAX_ATTEMPTS      | 5                | tries for an item that fails by itself (undecodable …)         |
 * | PROCESSOR_MAX_TRANSIENT_ATTEMPTS | 30          | tries while a dependency is away (storage, transcriber)        |
 * | PROCESSOR_RETRY_BASE_MS     | 2000             | first retry delay; doubles per attempt                         |
 * | PROCESSOR_RETRY_MAX_MS      | 60000            | longest retry delay                                            |
 * | PROCESSOR_MIN_SPEECH_RATIO  | 0.02             | below it a chunk is not transcribed (its transcript is "")     |
 * | PROCESSOR_INSTANCE_ID       | processor        | prefix of this worker's id (`-pid-random` is added)            |
 * | PROCESSOR_METRICS_PORT      | 9105             | HTTP port of /metrics /healthz /readyz (0 = free)              |
 * | PROCESSOR_HOST              | 0.0.0.0          | bind address of the ops port (127.0.0.1 under npm start)       |
 * | PROCESSOR_SHUTDOWN_GRACE_MS | 60000            | on SIGTERM, the longest wait for items being analysed          |
 * | ANALYSIS_*                  | see docs/analysis.md | each analyzer threshold (ANALYSIS_VAD_THRESHOLD, ANALYSIS_BLACK_LUMA, …) |
 * | CANDID_INTERNAL_TOKEN       | (required)       | carried by every internal call                                 |
 * | LOG_LEVEL                   | info             | debug, info, warn or error                                     |
 */
import { ConfigError, type Config, int, loadEnv, logLevel, optStr, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";
import { type AnalysisThresholds, DEFAULT_THRESHOLDS, THRESHOLD_NAMES, validateThresholds } from "./analyzers/thresholds";
import type { ItemKind } from "./core/ports";

/** ANALYSIS_VAD_THRESHOLD for vadThreshold: the environment name of each analyzer threshold. */
export function thresholdEnvName(name: string): string {
  return `ANALYSIS_${name.replace(/[A-Z0-9]+/g, (m) => `_${m}`).toUpperCase()}`;
}

export const processorConfigShape = {
  metadataAddr: str("METADATA_ADDR", "127.0.0.1:50052"),
  storageAddr: str("STORAGE_ADDR", "127.0.0.1:50051"),
  transcriberAddr: str("TRANSCRIBER_ADDR", ""),
  openaiUrl: str("TRANSCRIBER_OPENAI_URL", ""),
  openaiModel: str("TRANSCRIBER_OPENAI_MODEL", "whisper-1"),
  openaiApiKey: optStr("TRANSCRIBER_OPENAI_API_KEY"),
  transcriberTimeoutMs: int("TRANSCRIBER_TIMEOUT_MS", 60_000),
  language: str("TRANSCRIBER_LANGUAGE", "en"),
  kinds: str("PROCESSOR_KINDS", "audio,frame"),
  concurrency: int("PROCESSOR_CONCURRENCY", 2),
  claimBatch: int("PROCESSOR_CLAIM_BATCH", 4),
  pollMs: int("PROCESSOR_POLL_MS", 500),
  leaseMs: int("PROCESSOR_LEASE_MS", 120_000),
  maxAttempts: int("PROCESSOR_MAX_ATTEMPTS", 5),
  maxTransientAttempts: int("PROCESSOR_MAX_TRANSIENT_ATTEMPTS", 30),
  retryBaseMs: int("PROCESSOR_RETRY_BASE_MS", 2_000),
  retryMaxMs: int("PROCESSOR_RETRY_MAX_MS", 60_000),
  minSpeechRatio: str("PROCESSOR_MIN_SPEECH_RATIO", "0.02"),
  instanceId: str("PROCESSOR_INSTANCE_ID", "processor"),
  metricsPort: int("PROCESSOR_METRICS_PORT", 9105),
  host: str("PROCESSOR_HOST", "0.0.0.0"),
  shutdownGraceMs: int("PROCESSOR_SHUTDOWN_GRACE_MS", 60_000),
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  logLevel: logLevel(),
};

export type ProcessorConfig = Omit<Config<typeof processorConfigShape>, "kinds" | "minSpeechRatio"> & { kinds: ItemKind[]; minSpeechRatio: number; thresholds: AnalysisThresholds };

/** loadEnv plus the bounds; throws one ConfigError listing every problem. */
export function loadProcessorConfig(env: Record<string, string | undefined> = process.env): ProcessorConfig {
  const c = loadEnv(processorConfigShape, env);
  const problems: string[] = [];
  const kinds = c.kinds.split(",").map((k) => k.trim()).filter(Boolean);
  if (!kinds.length || kinds.some((k) => k !== "audio" && k !== "frame")) problems.push("PROCESSOR_KINDS must list audio and/or frame, comma-separated");
  const minSpeechRatio = Number(c.minSpeechRatio);
  if (!Number.isFinite(minSpeechRatio) || minSpeechRatio < 0 || minSpeechRatio > 1) problems.push("PROCESSOR_MIN_SPEECH_RATIO must be a number from 0 to 1");
  if (c.concurrency < 1 || c.concurrency > 64) problems.push("PROCESSOR_CONCURRENCY must be 1..64");
  if (c.claimBatch < 1 || c.claimBatch > 100) problems.push("PROCESSOR_CLAIM_BATCH must be 1..100");
  if (c.pollMs < 1) problems.push("PROCESSOR_POLL_MS must be at least 1");
  if (c.leaseMs < 1000 || c.leaseMs > 3_600_000) problems.push("PROCESSOR_LEASE_MS must be 1000..3600000");
  if (c.maxAttempts < 1 || c.maxAttempts > 100) problems.push("PROCESSOR_MAX_ATTEMPTS must be 1..100");
  if (c.maxTransientAttempts < c.maxAttempts || c.maxTransientAttempts > 99) problems.push("PROCESSOR_MAX_TRANSIENT_ATTEMPTS must be at least PROCESSOR_MAX_ATTEMPTS and at most 99");
  if (c.retryBaseMs < 0 || c.retryMaxMs < c.retryBaseMs || c.retryMaxMs > 3_600_000) problems.push("PROCESSOR_RETRY_BASE_MS / PROCESSOR_RETRY_MAX_MS must satisfy 0 <= base <= max <= 3600000");
  if (c.transcriberAddr && c.openaiUrl) problems.push("set TRANSCRIBER_ADDR or TRANSCRIBER_OPENAI_URL, not both");
  if (c.openaiUrl && !/^https?:\/\//.test(c.openaiUrl)) problems.push("TRANSCRIBER_OPENAI_URL must be an http(s) URL");
  if (c.transcriberTimeoutMs < 1000) problems.push("TRANSCRIBER_TIMEOUT_MS must be at least 1000");
  const thresholds: Record<string, number> = { ...DEFAULT_THRESHOLDS };
  for (const name of THRESHOLD_NAMES) {
    const raw = env[thresholdEnvName(name)];
    if (raw !== undefined && raw !== "") thresholds[name] = /^-?[0-9]+(\.[0-9]+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  }
  for (const p of validateThresholds(thresholds)) {
    const [name, ...rest] = p.split(": ");
    problems.push(`${thresholdEnvName(name!)}: ${rest.join(": ")}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return { ...c, kinds: kinds as ItemKind[], minSpeechRatio, thresholds: Object.freeze(thresholds) as AnalysisThresholds };
}
