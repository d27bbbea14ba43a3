import { describe, expect, test } from "bun:test";
import { toS16le, toWav } from "./pcm";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("toS16le", () => {
  test("scales, rounds and writes little-endian", () => {
    // 0, 1, -1, 0.5 (16383.5 -> 16384), -0.5 (-16383.5 -> -16383: Math.round goes up)
    expect(hex(toS16le(new Float32Array([0, 1, -1, 0.5, -0.5])))).toBe("0000" + "ff7f" + "0180" + "0040" + "01c0");
  });
  test("clamps what is outside [-1, 1] and maps NaN to 0", () => {
    expect(hex(toS16le(new Float32Array([1.5, -7, Number.NaN, Infinity, -Infinity])))).toBe("ff7f" + "0180" + "0000" + "ff7f" + "0180");
  });
  test("empty in, empty out", () => {
    expect(toS16le(new Float32Array(0)).length).toBe(0);
  });
});

describe("toWav", () => {
  test("writes the canonical 44-byte header, byte for byte", () => {
    const wav = toWav(new Float32Array([0, 1]), 16000);
    expect(hex(wav)).toBe(
      "52494646" + "28000000" + "57415645" + // "RIFF", 36 + 4 data bytes, "WAVE"
        "666d7420" + "10000000" + "0100" + "0100" + // "fmt ", 16, PCM, mono
        "803e0000" + "007d0000" + "0200" + "1000" + // 16000 Hz, 32000 bytes/s, block 2, 16 bits
        "64617461" + "04000000" + "0000ff7f", // "data", 4 bytes, the samples
    );
  });
  test("RIFF and data sizes for a real length", () => {
    const wav = toWav(new Float32Array(16000), 16000);
    const v = new DataView(wav.buffer);
    expect(wav.length).toBe(44 + 32000);
    expect(v.getUint32(4, true)).toBe(wav.length - 8);
    expect(v.getUint32(40, true)).toBe(32000);
  });
  test("refuses a nonsense sample rate", () => {
    expect(() => toWav(new Float32Array(1), 0)).toThrow(RangeError);
    expect(() => toWav(new Float32Array(1), 44100.5)).toThrow(RangeError);
  });
});
