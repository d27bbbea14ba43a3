/**
 * @module audio
 * Decodes stored chunks with ffmpeg/ffprobe (each on its own: that is the "standalone file"
 * check) and locates decoded audio inside the known chirp to measure gaps/overlaps between
 * consecutive chunks.
 */
import type { Chirp } from './chirp.ts';

export async function ffprobe(path: string): Promise<{ ok: boolean; codec?: string; format?: string; stderr: string }> {
  const p = Bun.spawn(['ffprobe', '-v', 'error', '-show_entries', 'stream=codec_name:format=format_name', '-of', 'json', path], { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) return { ok: false, stderr: err };
  const j = JSON.parse(out) as { streams?: Array<{ codec_name: string }>; format?: { format_name: string } };
  return { ok: (j.streams?.length ?? 0) > 0 && err.trim() === '', codec: j.streams?.[0]?.codec_name, format: j.format?.format_name, stderr: err };
}

/** Decodes a whole file to mono float32 at `rate`; throws if ffmpeg reports any error. */
export async function decodePcm(path: string, rate = 48_000): Promise<Float32Array> {
  const p = Bun.spawn(['ffmpeg', '-v', 'error', '-nostdin', '-i', path, '-f', 'f32le', '-ac', '1', '-ar', String(rate), '-'], { stdout: 'pipe', stderr: 'pipe' });
  const [buf, err, code] = await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0 || err.trim()) throw new Error(`ffmpeg failed to decode ${path}: ${err}`);
  return new Float32Array(buf);
}

/** Dominant frequency of a window by counting zero crossings (good enough for a pure tone). */
function zeroCrossingHz(x: Float32Array, rate: number): number {
  let first = -1;
  let last = -1;
  let n = 0;
  for (let i = 1; i < x.length; i++) {
    if ((x[i - 1]! < 0 && x[i]! >= 0) || (x[i - 1]! > 0 && x[i]! <= 0)) {
      const frac = x[i - 1]! / (x[i - 1]! - x[i]!);
      const pos = i - 1 + frac;
      if (first < 0) first = pos;
      last = pos;
      n++;
    }
  }
  if (n < 2) return 0;
  return ((n - 1) / 2) / ((last - first) / rate);
}

/**
 * Position (in samples of the chirp, modulo its length) of the first sample of `win`, by a
 * coarse frequency estimate refined with normalised cross-correlation. `score` is the peak
 * correlation (1 = identical shape).
 */
export function locate(win: Float32Array, chirp: Float32Array, c: Chirp, searchSeconds = 0.4): { pos: number; score: number } {
  const rate = c.sampleRate;
  const f = zeroCrossingHz(win, rate);
  const k = (c.f1 - c.f0) / c.seconds;
  // frequency at the window's centre → time of the centre → time of its start
  const tCentre = (f - c.f0) / k;
  const guess = Math.round(tCentre * rate - win.length / 2);
  const span = Math.round(searchSeconds * rate);
  let wNorm = 0;
  for (const v of win) wNorm += v * v;
  wNorm = Math.sqrt(wNorm) || 1;
  let best = { pos: guess, score: -2 };
  const L = chirp.length;
  for (let lag = guess - span; lag <= guess + span; lag++) {
    let dot = 0;
    let cNorm = 0;
    for (let i = 0; i < win.length; i++) {
      const s = chirp[(((lag + i) % L) + L) % L]!;
      dot += s * win[i]!;
      cNorm += s * s;
    }
    const score = dot / (wNorm * (Math.sqrt(cNorm) || 1));
    if (score > best.score) best = { pos: ((lag % L) + L) % L, score };
  }
  return best;
}

/** Where decoded audio starts and ends in the chirp (samples, modulo its length). */
export function chunkSpan(pcm: Float32Array, chirp: Float32Array, c: Chirp, winMs = 20, skipMs = 10) {
  const w = Math.round((winMs / 1000) * c.sampleRate);
  const skip = Math.round((skipMs / 1000) * c.sampleRate);
  const head = locate(pcm.subarray(skip, skip + w), chirp, c);
  const tailStart = pcm.length - skip - w;
  const tail = locate(pcm.subarray(tailStart, tailStart + w), chirp, c);
  return {
    start: head.pos - skip,
    end: tail.pos + w + skip,
    headScore: head.score,
    tailScore: tail.score,
    samples: pcm.length,
  };
}

/** Signed distance b - a in a ring of length L, in (-L/2, L/2]. */
export function ringDelta(a: number, b: number, L: number): number {
  let d = (b - a) % L;
  if (d > L / 2) d -= L;
  if (d <= -L / 2) d += L;
  return d;
}

/** Runs ffmpeg quietly (overwriting outputs); throws with its stderr when it fails. */
export async function ffmpeg(...args: string[]): Promise<void> {
  const p = Bun.spawn(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdout: 'pipe', stderr: 'pipe' });
  if ((await p.exited) !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${await new Response(p.stderr).text()}`);
}
