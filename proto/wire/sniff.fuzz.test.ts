/**
 * Property tests of the content sniffers (fast-check; a failure prints its seed and the shrunk
 * counterexample): on any bytes, random or damaged valid media, they never throw, answer the
 * same for the same bytes wherever they sit in memory (a view into a larger buffer reads nothing
 * outside it), and sniffAudio agrees with isWebm / isAudioMp4.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { byteDamageArb, fuzzRuns } from "./arbitraries";
import { AUDIO_MP4_BRANDS, isAudioMp4, isJpeg, isWebm, sniffAudio } from "./sniff";

// The smallest blobs each sniffer accepts (as in services/gateway/core/stream-session.test.ts).
const WEBM = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d, 0x18, 0x53, 0x80, 0x67, 0x81, 0, 1, 2, 3, 4]);
const MP4 = new Uint8Array([0, 0, 0, 0x10, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0, 0, 0, 0x08, 0x66, 0x72, 0x65, 0x65, 9]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 5, 6, 0xff, 0xd9]);

type Answers = { audio: string | null; webm: boolean; mp4: boolean; jpeg: boolean };
const answers = (b: Uint8Array): Answers => ({ audio: sniffAudio(b), webm: isWebm(b), mp4: isAudioMp4(b), jpeg: isJpeg(b) });

/** The sniffers' contract on one input. */
function check(bytes: Uint8Array, junk: Uint8Array) {
  const a = answers(bytes);
  expect(a.audio).toBe(a.webm ? "audio/webm" : a.mp4 ? "audio/mp4" : null);
  // The same bytes as a view with other bytes around them: the same answers.
  const big = new Uint8Array(junk.length + bytes.length + junk.length);
  big.set(junk, 0);
  big.set(bytes, junk.length);
  big.set(junk, junk.length + bytes.length);
  expect(answers(big.subarray(junk.length, junk.length + bytes.length))).toEqual(a);
}

/** Bytes shaped like the containers: EBML elements, ISO boxes, JPEG marker segments, with random sizes and contents. */
const vintSize = fc.oneof(
  fc.integer({ min: 0, max: 126 }).map((n) => [0x80 | n]),
  fc.integer({ min: 0, max: 0x3ffe }).map((n) => [0x40 | (n >> 8), n & 0xff]),
  fc.constantFrom([0xff], [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x00], [0x08, 0, 0, 0, 0]),
);
const ebmlElement = fc.tuple(fc.constantFrom([0x1a, 0x45, 0xdf, 0xa3], [0x42, 0x82], [0x42, 0x86], [0x18, 0x53, 0x80, 0x67], [0x80], [0x00]), vintSize, fc.oneof(fc.constant([..."webm"].map((c) => c.charCodeAt(0))), fc.array(fc.nat(255), { maxLength: 12 }))).map(([id, size, data]) => [...id, ...size, ...data]);
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const isoBox = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffffffff, 1, 0)), fc.constantFrom("ftyp", "moov", "free", "mdat", "\0\0\0\0"), fc.array(fc.constantFrom(...AUDIO_MP4_BRANDS, "mif1", "qt  ", "\xff\xff\xff\xff"), { maxLength: 4 })).map(([size, type, brands]) => [...u32(size), ...[...type, ...brands.join("")].map((c) => c.charCodeAt(0) & 0xff)]);
const jpegSegment = fc.tuple(fc.constantFrom(0xd8, 0xd9, 0xc0, 0xc2, 0xc4, 0xda, 0xdb, 0xe0, 0x01, 0x00, 0xd0, 0xff), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0xffff)), fc.array(fc.nat(255), { maxLength: 16 })).map(([m, len, data]) => [0xff, m, len >> 8, len & 0xff, ...data]);
const structured = fc.oneof(ebmlElement, isoBox, jpegSegment);
const shapedArb = fc.array(structured, { minLength: 1, maxLength: 6 }).map((parts) => new Uint8Array(parts.flat()));

const junkArb = fc.uint8Array({ minLength: 0, maxLength: 8 });

describe("sniffers, fuzzed", () => {
  test("the seeds are accepted (so damage to them reaches the deep branches)", () => {
    expect(answers(WEBM)).toEqual({ audio: "audio/webm", webm: true, mp4: false, jpeg: false });
    expect(answers(MP4)).toEqual({ audio: "audio/mp4", webm: false, mp4: true, jpeg: false });
    expect(answers(JPEG)).toEqual({ audio: null, webm: false, mp4: false, jpeg: true });
  });

  test("random bytes never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), junkArb, check), { numRuns: fuzzRuns(3000) });
  });

  test("damaged WebM, MP4 and JPEG never throw", () => {
    fc.assert(
      fc.property(fc.constantFrom(WEBM, MP4, JPEG), fc.array(byteDamageArb, { minLength: 1, maxLength: 4 }), junkArb, (seed, damage, junk) => check(damage.reduce((b: Uint8Array, d) => d(b), seed), junk)),
      { numRuns: fuzzRuns(3000) },
    );
  });

  test("container-shaped bytes (EBML elements, ISO boxes, JPEG segments) never throw", () => {
    fc.assert(
      fc.property(shapedArb, fc.boolean(), junkArb, (b, withEoi, junk) => {
        check(b, junk);
        if (withEoi) check(new Uint8Array([...b, 0xff, 0xd9]), junk); // a JPEG's last two bytes, so isJpeg parses all the way
      }),
      { numRuns: fuzzRuns(3000) },
    );
  });
});
