import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpus } from "./opus-encode";
import { oggCrc, writeOggOpus } from "./ogg-opus";

async function ffmpegDecode(ogg: Uint8Array): Promise<{ pcm: Float32Array; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "candid-ogg-"));
  try {
    writeFileSync(join(dir, "a.ogg"), ogg);
    const p = Bun.spawn(["ffmpeg", "-v", "error", "-nostdin", "-i", join(dir, "a.ogg"), "-f", "f32le", "-ac", "1", "-ar", "48000", "-"], { stdout: "pipe", stderr: "pipe" });
    const [buf, stderr] = await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).text(), p.exited]);
    return { pcm: new Float32Array(buf), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("Ogg Opus", () => {
  test("the Ogg CRC (poly 0x04C11DB7, unreflected): known values", () => {
    expect(oggCrc(new Uint8Array())).toBe(0);
    // CRC-32/MPEG-2 without its initial 0xFFFFFFFF and final xor, the Ogg flavour, of "123456789".
    expect(oggCrc(new TextEncoder().encode("123456789")).toString(16)).toBe("89a1897f");
  });

  test("ffmpeg decodes it without a complaint, to exactly the samples encoded, the same sound", async () => {
    for (const seconds of [1.2345, 10, 0.01]) {
      const n = Math.round(seconds * 48_000);
      const pcm = new Float32Array(n).map((_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / 48_000));
      const e = encodeOpus(pcm);
      const ogg = writeOggOpus({ packets: e.packets, frameSamples: e.frameSamples, preSkip: e.preSkip, totalSamples: n });
      const d = await ffmpegDecode(ogg);
      expect(d.stderr).toBe("");
      expect(d.pcm.length).toBe(n);
      if (n > 4800) {
        // Same phase as the input (the pre-skip is right): correlation near 1 in the middle.
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let i = 2400; i < n - 2400; i++) {
          dot += pcm[i]! * d.pcm[i]!;
          na += pcm[i]! ** 2;
          nb += d.pcm[i]! ** 2;
        }
        expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.95);
      }
    }
  });
});
