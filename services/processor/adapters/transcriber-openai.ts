/**
 * @module processor/adapters/transcriber-openai
 * The `Transcriber` port (core/ports.ts) over an OpenAI-compatible speech-to-text HTTP API, for
 * deployments that use a hosted or self-hosted Whisper instead of services/transcriber:
 *   transcribe(pcm, {language}) -> POST {baseUrl}/v1/audio/transcriptions, multipart/form-data:
 *     file = the PCM as a mono 16-bit WAV (toWav), model, response_format=verbose_json,
 *     timestamp_granularities[]=word (and =segment), language (when known)
 *   with `Authorization: Bearer <apiKey>` when a key is configured (the key is never logged nor
 *   put in an error), and a timeout per call.
 * The answer's `words` ({word, start, end} in seconds) become TranscribedWord. A server that
 * returns no words (some self-hosted ones ignore timestamp_granularities) still returns
 * `segments`: each segment's text is split on whitespace and the segment's time span shared out
 * by character count, so times are estimates there; probability is then exp(avg_logprob) of the
 * segment (0 when absent). The API reports no per-word probability either, so with `words` it is
 * 1 unless the server sends one (`probability`).
 * Failures become AppError once, here: no answer, a timeout, 408/429/5xx -> UPSTREAM_UNAVAILABLE
 * (the work loop retries); any other status -> INTERNAL (a misconfiguration: key, model, URL),
 * whose cause keeps the status and the start of the body, never the key or the audio.
 */
import { AppError } from "../../shared/errors";
import type { Pcm, Transcriber, TranscribedWord, Transcript } from "../core/ports";
import { toWav } from "./pcm";

export interface OpenAiTranscriberOptions {
  /** e.g. "http://127.0.0.1:8000" (no trailing /v1) */
  baseUrl: string;
  /** Sent as a Bearer token when set. */
  apiKey?: string;
  /** The API's model name, e.g. "whisper-1". */
  model: string;
  /** Timeout of one request, ms. */
  timeoutMs: number;
  /** For tests; the global fetch by default. */
  fetch?: typeof fetch;
}

interface ApiWord {
  word: string;
  start: number;
  end: number;
  probability?: number;
}
interface ApiSegment {
  start: number;
  end: number;
  text: string;
  avg_logprob?: number;
}
interface VerboseJson {
  text?: string;
  language?: string;
  duration?: number;
  words?: ApiWord[];
  segments?: ApiSegment[];
}

const ms = (seconds: number) => Math.max(0, Math.round(seconds * 1000));
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** verbose_json -> the port's words (pure; exported for its unit test). */
export function wordsFromVerboseJson(body: VerboseJson): TranscribedWord[] {
  if (Array.isArray(body.words) && body.words.length > 0) {
    return body.words
      .map((w) => ({ text: String(w.word).trim(), startMs: ms(w.start), endMs: Math.max(ms(w.start), ms(w.end)), probability: typeof w.probability === "number" ? w.probability : 1 }))
      .filter((w) => w.text !== "");
  }
  const out: TranscribedWord[] = [];
  for (const seg of body.segments ?? []) {
    const parts = String(seg.text).trim().split(/\s+/).filter(Boolean);
    const chars = parts.reduce((n, p) => n + p.length, 0);
    const start = ms(seg.start);
    const span = Math.max(0, ms(seg.end) - start);
    const probability = typeof seg.avg_logprob === "number" ? Math.min(1, Math.exp(seg.avg_logprob)) : 0;
    let done = 0;
    for (const p of parts) {
      const s = start + Math.round((span * done) / chars);
      done += p.length;
      out.push({ text: p, startMs: s, endMs: start + Math.round((span * done) / chars), probability });
    }
  }
  return out;
}

export class OpenAiTranscriber implements Transcriber {
  private readonly url: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: OpenAiTranscriberOptions) {
    this.url = `${opts.baseUrl.replace(/\/+$/, "")}/v1/audio/transcriptions`;
    this.fetch = opts.fetch ?? fetch;
  }

  async transcribe(pcm: Pcm, opts: { language?: string } = {}): Promise<Transcript> {
    const form = new FormData();
    form.append("file", new Blob([toWav(pcm.samples, pcm.sampleRate)], { type: "audio/wav" }), "chunk.wav");
    form.append("model", this.opts.model);
    form.append("response_format", "verbose_json");
    form.append("timestamp_granularities[]", "word");
    form.append("timestamp_granularities[]", "segment");
    if (opts.language) form.append("language", opts.language);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;

    let res: Response;
    try {
      res = await this.fetch(this.url, { method: "POST", body: form, headers, signal: AbortSignal.timeout(this.opts.timeoutMs) });
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      throw new AppError("UPSTREAM_UNAVAILABLE", timedOut ? `transcription API did not answer within ${this.opts.timeoutMs} ms` : "transcription API unreachable", {}, { cause: err });
    }
    if (!res.ok) {
      const snippet = (await res.text().catch(() => "")).slice(0, 300);
      const cause = new Error(`POST ${new URL(this.url).pathname} answered ${res.status}: ${snippet}`);
      if (RETRYABLE.has(res.status)) throw new AppError("UPSTREAM_UNAVAILABLE", `transcription API answered ${res.status}`, {}, { cause });
      throw new AppError("INTERNAL", `transcription API refused the request (${res.status}; check its URL, key and model)`, {}, { cause });
    }
    let body: VerboseJson;
    try {
      body = (await res.json()) as VerboseJson;
    } catch (err) {
      throw new AppError("INTERNAL", "transcription API answered with something that is not JSON", {}, { cause: err });
    }
    if (typeof body?.text !== "string") throw new AppError("INTERNAL", "transcription API answered without text (is response_format=verbose_json supported?)");
    return {
      text: body.text.trim(),
      words: wordsFromVerboseJson(body),
      language: normaliseLanguage(body.language) ?? opts.language ?? "",
      model: this.opts.model,
    };
  }

  close(): void {}
}

/** verbose_json says "english" (OpenAI) or "en" (most self-hosted servers): the port wants a code. */
function normaliseLanguage(lang: string | undefined): string | undefined {
  if (!lang) return undefined;
  const l = lang.toLowerCase();
  return NAMES[l] ?? l;
}
const NAMES: Record<string, string> = { english: "en", german: "de", french: "fr", spanish: "es", italian: "it", portuguese: "pt", dutch: "nl", polish: "pl", japanese: "ja", chinese: "zh" };
