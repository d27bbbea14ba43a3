/**
 * @module processor/adapters/transcriber-grpc
 * The `Transcriber` port (core/ports.ts) over media.v1.TranscriberService, served by
 * services/transcriber (Python, faster-whisper):
 *   transcribe(pcm, {language}) -> Transcribe({pcm_s16le: toS16le(samples), sample_rate: 16000,
 *                                             language}) with a deadline of `callTimeoutMs`
 * The client is made by `internalClient`, so every call carries the internal token. The service
 * takes 16 kHz only (what Whisper models take); the processor decodes to 16 kHz already, so a
 * different rate is a bug on this side and is refused here rather than resampled. Failures become
 * AppError once, here (`fromGrpcError`): UPSTREAM_UNAVAILABLE for a service that is down, loading
 * or too slow (the work loop retries), INVALID_MESSAGE for audio it refuses (over 60 s), INTERNAL
 * for a refused token.
 */
import * as grpc from "@grpc/grpc-js";
import { TranscriberServiceClient } from "../../../proto/gen/media/v1/transcriber";
import { AppError } from "../../shared/errors";
import { fromGrpcError, internalClient } from "../../shared/grpc";
import type { Pcm, Transcriber, Transcript } from "../core/ports";
import { toS16le } from "./pcm";

/** The only rate the transcriber service accepts, in Hz. */
export const TRANSCRIBER_SAMPLE_RATE = 16000;

export interface GrpcTranscriberOptions {
  /** host:port of the transcriber (TRANSCRIBER_ADDR in the processor's config). */
  address: string;
  /** CANDID_INTERNAL_TOKEN */
  internalToken: string;
  /** Deadline of one Transcribe call, ms (a 10 s chunk takes about 1 s on 2 cores). */
  callTimeoutMs: number;
}

export class GrpcTranscriber implements Transcriber {
  private readonly client: TranscriberServiceClient;
  private readonly callTimeoutMs: number;

  constructor(opts: GrpcTranscriberOptions) {
    this.client = internalClient(TranscriberServiceClient, opts.address, opts.internalToken);
    this.callTimeoutMs = opts.callTimeoutMs;
  }

  transcribe(pcm: Pcm, opts: { language?: string } = {}): Promise<Transcript> {
    if (pcm.sampleRate !== TRANSCRIBER_SAMPLE_RATE) {
      return Promise.reject(
        new AppError("INVALID_MESSAGE", `the transcriber takes ${TRANSCRIBER_SAMPLE_RATE} Hz PCM; decode to it first (got ${pcm.sampleRate} Hz)`, { field: "sampleRate" }),
      );
    }
    const bytes = toS16le(pcm.samples);
    const req = { pcmS16le: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), sampleRate: TRANSCRIBER_SAMPLE_RATE, language: opts.language ?? "" };
    return new Promise((resolve, reject) => {
      this.client.transcribe(req, new grpc.Metadata(), { deadline: Date.now() + this.callTimeoutMs }, (err, res) => {
        if (err) return reject(fromGrpcError(err));
        resolve({
          text: res.text,
          words: res.words.map((w) => ({ text: w.text, startMs: w.startMs, endMs: w.endMs, probability: w.probability })),
          language: res.language,
          model: res.model,
        });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
