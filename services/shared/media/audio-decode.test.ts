import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { encodeBrowserChunk, probeDurationSeconds, speakToWav, tempDir, writeWav } from '../../../test/support/speech.ts';
import { decodeChunk, decodeOpus, parseOpusHead } from './audio-decode.ts';
import { demuxWebmAudio } from './webm-demux.ts';
import { AnalysisError } from './errors.ts';

const dir = tempDir();
let speech: Uint8Array;
let tone: Uint8Array;
let stereo: Uint8Array;

beforeAll(() => {
  speakToWav('The quick brown fox jumps over the lazy dog. Tell me about your last project.', dir.file('speech.wav'));
  encodeBrowserChunk(dir.file('speech.wav'), dir.file('speech.webm'));
  speech = readFileSync(dir.file('speech.webm'));
  // 1 kHz at -6 dBFS, 3 s, at 44.1 kHz in: ffmpeg resamples to 48 kHz as a browser would.
  writeWav(dir.file('tone.wav'), Float32Array.from({ length: 44_100 * 3 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44_100)), 44_100);
  encodeBrowserChunk(dir.file('tone.wav'), dir.file('tone.webm'), { seconds: 3, bitrateKbps: 64 });
  tone = readFileSync(dir.file('tone.webm'));
  // Stereo with the tone on the left only: the mono downmix must carry it at half amplitude.
  const left = Float32Array.from({ length: 48_000 * 3 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 48_000));
  writeWav(dir.file('stereo.wav'), [left, new Float32Array(left.length)], 48_000);
  encodeBrowserChunk(dir.file('stereo.wav'), dir.file('stereo.webm'), { seconds: 3, channels: 2, bitrateKbps: 96 });
  stereo = readFileSync(dir.file('stereo.webm'));
});
afterAll(() => dir.cleanup());

function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (e) => (e instanceof AnalysisError ? e.code : `not an AnalysisError: ${e}`));
}

describe('decodeChunk', () => {
  test('a 10 s browser-style chunk decodes to 16 kHz mono within 30 ms of the file\'s duration', async () => {
    const pcm = await decodeChunk(speech, 'audio/webm;codecs=opus');
    expect(pcm.sampleRate).toBe(16_000);
    const seconds = pcm.samples.length / pcm.sampleRate;
    expect(Math.abs(seconds - probeDurationSeconds(dir.file('speech.webm')))).toBeLessThan(0.03);
    expect(Math.abs(seconds - 10)).toBeLessThan(0.03);
  });

  test('the decoded tone is the tone: level and frequency survive Opus, resampling and pre-skip', async () => {
    const pcm = await decodeChunk(tone, 'audio/webm', 16_000);
    const x = pcm.samples.subarray(8000, 40_000); // 0.5 s .. 2.5 s
    let sq = 0;
    for (const v of x) sq += v * v;
    expect(20 * Math.log10(Math.sqrt(sq / x.length))).toBeCloseTo(-9.03, 0); // RMS of a -6 dBFS sine
    // Count zero crossings: 1 kHz → 2000 per second.
    let zc = 0;
    for (let i = 1; i < x.length; i++) if ((x[i - 1]! < 0) !== (x[i]! < 0)) zc++;
    expect(zc / 2).toBeGreaterThan(1990);
    expect(zc / 2).toBeLessThan(2010);
    expect(Math.abs(pcm.samples.length / 16_000 - 3)).toBeLessThan(0.03);
  });

  test('a stereo chunk is downmixed to mono (left-only tone at half amplitude); other output rates work', async () => {
    const pcm = await decodeChunk(stereo, 'audio/webm', 24_000);
    expect(pcm.sampleRate).toBe(24_000);
    expect(Math.abs(pcm.samples.length / 24_000 - 3)).toBeLessThan(0.03);
    let peak = 0;
    for (const v of pcm.samples) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeGreaterThan(0.22);
    expect(peak).toBeLessThan(0.28);
  });

  test('audio/mp4 (Safari) is refused as an unsupported media type, whatever the bytes', async () => {
    expect(await codeOf(decodeChunk(speech, 'audio/mp4'))).toBe('UNSUPPORTED_MEDIA_TYPE');
    await expect(decodeChunk(speech, 'audio/mp4;codecs=mp4a.40.2')).rejects.toThrow(/unsupported media type "audio\/mp4/);
    const ftyp = new Uint8Array(64);
    ftyp.set(new TextEncoder().encode('ftypM4A '), 4);
    expect(await codeOf(decodeChunk(ftyp, 'audio/webm'))).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('a truncated chunk is a clear MEDIA_TRUNCATED error, at every cut we try', async () => {
    for (const keep of [0.99, 0.5, 0.1, 0.01]) {
      const cut = speech.subarray(0, Math.floor(speech.length * keep));
      const err = await decodeChunk(cut, 'audio/webm').then(() => null, (e) => e);
      expect(err).toBeInstanceOf(AnalysisError);
      expect(err.code).toBe('MEDIA_TRUNCATED');
      expect(err.message).toMatch(/truncated/);
    }
  });

  test('packets libopus refuses are MEDIA_MALFORMED, not garbage audio', async () => {
    const webm = demuxWebmAudio(speech);
    // TOC code 3 (several frames) with a frame count of 0: invalid by RFC 6716 §3.2.5.
    webm.packets[10] = { ...webm.packets[10]!, data: Uint8Array.from([0x03, 0x00]) };
    const err = await decodeOpus(webm).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(AnalysisError);
    expect(err.code).toBe('MEDIA_MALFORMED');
    expect(err.message).toMatch(/libopus refused 1 of/);
  });

  test('bad sample rates are refused', async () => {
    await expect(decodeChunk(speech, 'audio/webm', 96_000)).rejects.toThrow(RangeError);
    await expect(decodeChunk(speech, 'audio/webm', 0)).rejects.toThrow(RangeError);
  });
});

describe('parseOpusHead', () => {
  test('reads channels, pre-skip and gain; refuses what is not an OpusHead', () => {
    const h = Uint8Array.from([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0x00, 0x01, 0]);
    expect(parseOpusHead(h)).toMatchObject({ channels: 2, preSkip: 312, inputSampleRate: 48_000, outputGainDb: 1, mappingFamily: 0, streamCount: 1, coupledStreamCount: 1 });
    expect(() => parseOpusHead(h.subarray(0, 10))).toThrow(AnalysisError);
    expect(() => parseOpusHead(new TextEncoder().encode('OpusTags0123456789012'))).toThrow(/not an OpusHead/);
  });
});
