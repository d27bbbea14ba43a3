/**
 * @module speech
 * Known audio for the analyzer tests, made at test time (nothing binary is committed):
 *  - `speakToWav`: espeak-ng speaks a sentence to a WAV (Debian package, see test/system-deps.sh);
 *  - `writeWav`: any Float32 signal (tone, noise, silence; mono or more channels) to a 16-bit WAV;
 *  - `encodeBrowserChunk`: ffmpeg encodes a WAV the way the browser stores a chunk: Opus (libopus)
 *    at 32 kbps, 48 kHz, in WebM, padded with silence (or cut) to exactly `seconds`;
 *  - `tempDir`: a directory removed by its `cleanup()`;
 *  - `speak`: a sentence as the processor's decoder produces it (mono Float32 at 16 kHz);
 *  - `venv`: the venvs of the Python servers these tests start (services/transcriber/setup-venv.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pcm } from '../../services/processor/core/ports';

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} could not start (is it installed? see test/system-deps.sh): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
}

export function speakToWav(text: string, path: string, opts: { voice?: string; wordsPerMinute?: number } = {}): void {
  run('espeak-ng', ['-v', opts.voice ?? 'en-us', '-s', String(opts.wordsPerMinute ?? 160), '-w', path, text]);
}

export interface ChunkOptions {
  /** default 32 (what web/src/lib/capture.ts asks MediaRecorder for) */
  bitrateKbps?: number;
  /** default 10: the chunk is padded with silence, or cut, to this */
  seconds?: number;
  /** default 48000 (what Chromium records) */
  sampleRate?: number;
  /** default 1 */
  channels?: number;
}

export function encodeBrowserChunk(inputWav: string, outWebm: string, opts: ChunkOptions = {}): void {
  const seconds = opts.seconds ?? 10;
  run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-i', inputWav,
    '-af', `apad=whole_dur=${seconds}`,
    '-t', String(seconds),
    '-ar', String(opts.sampleRate ?? 48_000),
    '-ac', String(opts.channels ?? 1),
    '-c:a', 'libopus', '-b:a', `${opts.bitrateKbps ?? 32}k`,
    '-f', 'webm', outWebm,
  ]);
}

/** Duration in seconds as ffprobe reads it from the container. */
export function probeDurationSeconds(path: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Writes samples in [-1, 1] (one array per channel, equal lengths) as a 16-bit PCM WAV. */
export function writeWav(path: string, samples: Float32Array | Float32Array[], sampleRate: number): void {
  const chans = Array.isArray(samples) ? samples : [samples];
  const n = chans[0]!.length;
  const bytes = n * chans.length * 2;
  const buf = Buffer.alloc(44 + bytes);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + bytes, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(chans.length, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2 * chans.length, 28);
  buf.writeUInt16LE(2 * chans.length, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(bytes, 40);
  let at = 44;
  for (let i = 0; i < n; i++) {
    for (const c of chans) {
      buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, c[i]!)) * 32767), at);
      at += 2;
    }
  }
  writeFileSync(path, buf);
}

export function tempDir(prefix = 'candid-analyzers-'): { path: string; file: (name: string) => string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const SENTENCE = "Thank you for joining the interview today. Please tell me about a project you worked on last year, and what you learned from it.";

/** Lowercase words without punctuation. */
export const words = (text: string) => text.toLowerCase().match(/[a-z0-9']+/g) ?? [];

/** `text` spoken by espeak-ng as 16 kHz mono Float32 PCM. */
export async function speak(text: string): Promise<Pcm> {
  const dir = mkdtempSync(join(tmpdir(), "candid-speech-"));
  try {
    const wav = join(dir, "s.wav");
    const tts = Bun.spawnSync(["espeak-ng", "-w", wav, text]);
    if (tts.exitCode !== 0) throw new Error(`espeak-ng failed (run test/system-deps.sh): ${tts.stderr}`);
    const ff = Bun.spawnSync(["ffmpeg", "-v", "error", "-i", wav, "-ac", "1", "-ar", "16000", "-f", "f32le", "-"]);
    if (ff.exitCode !== 0) throw new Error(`ffmpeg failed: ${ff.stderr}`);
    const bytes = new Uint8Array(ff.stdout);
    return { samples: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4).slice(), sampleRate: 16000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cacheDir = () => process.env.XDG_CACHE_HOME || join(homedir(), ".cache");

/**
 * The venv named by `envVar` (default `<cache>/candid-tools/<name>`); throws, saying how to make
 * it, when it is missing: these tests never skip silently.
 */
export function venv(envVar: string, name: string, setupFlag: string): string {
  const dir = process.env[envVar] || join(cacheDir(), "candid-tools", name);
  if (!existsSync(join(dir, "bin", "python"))) {
    throw new Error(`no venv at ${dir} (${envVar}); make it with: services/transcriber/setup-venv.sh ${dir} ${setupFlag}  (test/run.sh does)`);
  }
  return dir;
}
