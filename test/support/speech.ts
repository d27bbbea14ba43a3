/**
 * @module speech
 * Known speech for the analysis tests: espeak-ng speaks a sentence, ffmpeg turns it into what the
 * processor's decoder produces (mono Float32 at 16 kHz), and the venvs of the Python servers
 * these tests start are located (they are made by services/transcriber/setup-venv.sh).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Pcm } from "../../services/processor/core/ports";

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
