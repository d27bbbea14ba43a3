import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIO_MP4_BRANDS, isAudioMp4, isJpeg, isWebm, sniffAudio } from "./sniff";

const u8 = (...parts: Array<number[] | Uint8Array>) => new Uint8Array(parts.flatMap((p) => [...p]));
const ascii = (s: string) => [...new TextEncoder().encode(s)];

// --- WebM builders: EBML header { EBMLVersion 1, DocType }, then a Segment of unknown size. ---
function ebmlHeader(docType: number[] | null = ascii("webm"), sizeByte?: number): number[] {
  const body = [0x42, 0x86, 0x81, 0x01, ...(docType ? [0x42, 0x82, 0x80 | docType.length, ...docType] : [])];
  return [0x1a, 0x45, 0xdf, 0xa3, sizeByte ?? 0x80 | body.length, ...body];
}
const SEGMENT = [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x15, 0x49, 0xa9, 0x66];
const webm = (docType?: number[] | null) => u8(ebmlHeader(docType), SEGMENT);

// --- MP4 builders ---
function box(type: string, payload: number[] = []): number[] {
  const n = 8 + payload.length;
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...ascii(type), ...payload];
}
const ftyp = (major: string, compatible: string[] = []) => box("ftyp", [...ascii(major), 0, 0, 2, 0, ...compatible.flatMap(ascii)]);
const mp4 = (major: string, compatible: string[] = []) => u8(ftyp(major, compatible), box("moov", [0, 0, 0, 0]));

// --- JPEG builders ---
function seg(marker: number, payload: number[]): number[] {
  const n = payload.length + 2;
  return [0xff, marker, n >> 8, n & 0xff, ...payload];
}
const SOI = [0xff, 0xd8];
const EOI = [0xff, 0xd9];
const APP0 = seg(0xe0, [...ascii("JFIF"), 0, 1, 2, 0, 0, 1, 0, 1, 0, 0]);
const DQT = seg(0xdb, [0, ...new Array(64).fill(1)]);
const SOF0 = seg(0xc0, [8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
const DHT = seg(0xc4, [0, ...new Array(16).fill(0)]);
const SOS = seg(0xda, [1, 1, 0, 0, 0x3f, 0]);
const SCAN = [0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd0, 0x78]; // stuffed FF 00 and an RST0 inside the scan
const jpeg = (...middle: number[][]) => u8(SOI, ...middle, EOI);
const GOOD_JPEG = jpeg(APP0, DQT, SOF0, DHT, SOS, SCAN);

describe("WebM", () => {
  test("an EBML header with DocType webm, then a Segment", () => {
    expect(sniffAudio(webm())).toBe("audio/webm");
    // DocType padded with NULs (EBML strings may be).
    expect(isWebm(webm([...ascii("webm"), 0, 0]))).toBe(true);
  });

  test("the magic alone is not enough (what was accepted before)", () => {
    expect(sniffAudio(u8([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))).toBeNull();
    expect(sniffAudio(u8([0x1a, 0x45]))).toBeNull();
  });

  test("another DocType, or none", () => {
    expect(isWebm(webm(ascii("matroska")))).toBe(false);
    expect(isWebm(webm(ascii("webmx")))).toBe(false);
    expect(isWebm(webm(null))).toBe(false);
  });

  test("a header that does not fit, has no size, or overflows its children", () => {
    expect(isWebm(u8(ebmlHeader(ascii("webm"), 0xbf), SEGMENT))).toBe(false); // says 63 bytes
    expect(isWebm(u8([0x1a, 0x45, 0xdf, 0xa3, 0xff, 0x42, 0x82, 0x84, ...ascii("webm")], SEGMENT))).toBe(false); // unknown size
    expect(isWebm(u8([0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x88, ...ascii("webm")], SEGMENT))).toBe(false); // DocType overflows
    expect(isWebm(u8([0x1a, 0x45, 0xdf, 0xa3, 0x80], SEGMENT))).toBe(false); // empty header
    expect(isWebm(u8([0x1a, 0x45, 0xdf, 0xa3, 0x00]))).toBe(false); // invalid vint
  });

  test("no Segment after the header", () => {
    expect(isWebm(u8(ebmlHeader()))).toBe(false);
    expect(isWebm(u8(ebmlHeader(), [0x1f, 0x43, 0xb6, 0x75, 0x80]))).toBe(false); // a Cluster, not a Segment
  });
});

describe("MP4", () => {
  test("an ftyp with an audio brand, major or compatible, then another box", () => {
    for (const brand of AUDIO_MP4_BRANDS) expect(sniffAudio(mp4(brand))).toBe("audio/mp4");
    expect(isAudioMp4(mp4("XXXX", ["abcd", "mp42"]))).toBe(true);
    expect(isAudioMp4(mp4("M4A ", ["M4A ", "isom", "iso2"]))).toBe(true);
  });

  test("the ftyp bytes alone are not enough (what was accepted before)", () => {
    expect(sniffAudio(u8([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69]))).toBeNull();
    expect(isAudioMp4(u8(ftyp("isom")))).toBe(false); // nothing after the ftyp box
  });

  test("images, QuickTime and 3GPP brands are refused", () => {
    expect(isAudioMp4(mp4("heic", ["mif1", "heic"]))).toBe(false);
    expect(isAudioMp4(mp4("avif", ["avif", "mif1", "miaf", "MA1B"]))).toBe(false);
    expect(isAudioMp4(mp4("qt  ", ["qt  "]))).toBe(false);
    expect(isAudioMp4(mp4("3gp4", ["3gp4"]))).toBe(false);
  });

  test("a malformed ftyp box", () => {
    const withSize = (n: number) => {
      const b = mp4("isom", ["isom"]);
      new DataView(b.buffer).setUint32(0, n);
      return b;
    };
    for (const n of [0, 1, 8, 12, 18, 1000]) expect(isAudioMp4(withSize(n))).toBe(false);
    expect(isAudioMp4(u8(ftyp("isom"), [0, 0, 0, 4, 0x01, 0x02, 0x03, 0x04]))).toBe(false); // next box: size 4, type not a fourcc
  });

  test("other audio formats are neither", () => {
    expect(sniffAudio(u8(ascii("RIFF\x24\0\0\0WAVEfmt ")))).toBeNull();
    expect(sniffAudio(u8(ascii("OggS"), new Array(40).fill(0)))).toBeNull();
    expect(sniffAudio(GOOD_JPEG)).toBeNull();
  });
});

describe("JPEG", () => {
  test("SOI, marker segments with a frame header, SOS, scan data, EOI", () => {
    expect(isJpeg(GOOD_JPEG)).toBe(true);
    expect(isJpeg(jpeg(SOF0, SOS, SCAN))).toBe(true);
    expect(isJpeg(jpeg([0xff, 0xff], SOF0, [0xff], SOS, SCAN))).toBe(true); // fill bytes before markers
    expect(isJpeg(jpeg(seg(0xc2, [8, 0, 16, 0, 16, 1, 1, 0x11, 0]), SOS, SCAN))).toBe(true); // progressive SOF2
  });

  test("the first bytes alone are not enough (what was accepted before)", () => {
    expect(isJpeg(u8([0xff, 0xd8, 0xff, 0xe0]))).toBe(false);
    expect(isJpeg(u8([0xff, 0xd8, 0xff, 0xe0, 5, 6]))).toBe(false);
    expect(isJpeg(u8([0xff, 0xd8]))).toBe(false);
    expect(isJpeg(u8([0x89, 0x50, 0x4e, 0x47]))).toBe(false);
  });

  test("no EOI at the end: truncated, or bytes appended", () => {
    expect(isJpeg(GOOD_JPEG.subarray(0, -1))).toBe(false);
    expect(isJpeg(u8(GOOD_JPEG, [0]))).toBe(false);
    expect(isJpeg(u8(GOOD_JPEG, ascii("<?php ?>")))).toBe(false);
  });

  test("a broken marker sequence before the scan", () => {
    expect(isJpeg(jpeg(APP0, SOS, SCAN))).toBe(false); // SOS without a frame header
    expect(isJpeg(jpeg(DHT, SCAN))).toBe(false); // no SOS at all
    expect(isJpeg(jpeg([0x00, 0x10], SOF0, SOS, SCAN))).toBe(false); // not a marker
    expect(isJpeg(jpeg([0xff, 0x00], SOF0, SOS, SCAN))).toBe(false); // FF 00 is not a marker
    expect(isJpeg(jpeg([0xff, 0xd0], SOF0, SOS, SCAN))).toBe(false); // RST0 before the scan
    expect(isJpeg(jpeg(SOI, SOF0, SOS, SCAN))).toBe(false); // a second SOI
    expect(isJpeg(jpeg(EOI, SOF0, SOS, SCAN))).toBe(false); // EOI first, a JPEG appended
    expect(isJpeg(jpeg([0xff, 0xe0, 0x00, 0x01], SOF0, SOS, SCAN))).toBe(false); // length < 2
    expect(isJpeg(jpeg([0xff, 0xe0, 0x7f, 0xff], SCAN))).toBe(false); // length past the end
  });

  test("a malformed scan header, or no scan data", () => {
    expect(isJpeg(jpeg(SOF0, seg(0xda, [0, 0, 0x3f, 0]), SCAN))).toBe(false); // Ns = 0
    expect(isJpeg(jpeg(SOF0, seg(0xda, [5, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0, 0x3f, 0]), SCAN))).toBe(false); // Ns = 5
    expect(isJpeg(jpeg(SOF0, seg(0xda, [2, 1, 0, 0, 0x3f, 0]), SCAN))).toBe(false); // Ls ≠ 6 + 2·Ns
    expect(isJpeg(jpeg(SOF0, SOS))).toBe(false); // SOS then EOI
  });

  test("audio is not a frame", () => {
    expect(isJpeg(webm())).toBe(false);
    expect(isJpeg(mp4("isom"))).toBe(false);
  });
});

// Real encoder output: what ffmpeg writes for the containers browsers record into.
const FFMPEG = Bun.which("ffmpeg");
describe.skipIf(!FFMPEG)("real files made by ffmpeg", () => {
  const dir = mkdtempSync(join(tmpdir(), "candid-sniff-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, args: string[]): Uint8Array => {
    const out = join(dir, name);
    const p = Bun.spawnSync([FFMPEG!, "-v", "error", "-nostdin", "-y", ...args, out], { stdout: "ignore", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`ffmpeg ${name}: ${p.stderr.toString()}`);
    return new Uint8Array(readFileSync(out));
  };
  const tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"];

  test("WebM / Opus (what Chromium and Firefox record)", () => {
    expect(sniffAudio(make("a.webm", [...tone, "-c:a", "libopus", "-f", "webm"]))).toBe("audio/webm");
  });

  test("MP4 / AAC, plain and fragmented (what Safari and Chromium record), and M4A", () => {
    expect(sniffAudio(make("a.mp4", [...tone, "-c:a", "aac", "-f", "mp4"]))).toBe("audio/mp4");
    expect(sniffAudio(make("f.mp4", [...tone, "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4"]))).toBe("audio/mp4");
    expect(sniffAudio(make("a.m4a", [...tone, "-c:a", "aac", "-f", "ipod"]))).toBe("audio/mp4");
  });

  test("Matroska is not WebM; QuickTime is not MP4", () => {
    expect(sniffAudio(make("a.mka", [...tone, "-c:a", "libopus", "-f", "matroska"]))).toBeNull();
    expect(sniffAudio(make("a.mov", [...tone, "-c:a", "aac", "-f", "mov"]))).toBeNull();
  });

  test("a JPEG frame passes; truncated, it does not; PNG is not a JPEG", () => {
    const jpg = make("x.jpg", ["-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1"]);
    expect(isJpeg(jpg)).toBe(true);
    expect(isJpeg(jpg.subarray(0, jpg.length - 100))).toBe(false);
    expect(isJpeg(make("x.png", ["-f", "lavfi", "-i", "testsrc", "-frames:v", "1"]))).toBe(false);
  });
});
