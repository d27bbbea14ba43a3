/**
 * @module shared/media/webm-demux
 * A small WebM (Matroska/EBML) demuxer for the one shape Candid stores: an audio chunk with one
 * Opus track, as Chromium's MediaRecorder writes it. Pure: bytes in, the track and its packets out.
 *
 * What maps onto what:
 *  - EBML header (1A45DFA3): DocType must be `webm` (or `matroska`).
 *  - Segment (18538067): its size may be "unknown" (all ones): Chromium writes that when it records
 *    with a timeslice, and then the Segment runs to the end of the file.
 *  - Info (1549A966): TimestampScale (2AD7B1, ns per tick, default 1,000,000) and Duration (4489).
 *  - Tracks (1654AE6B) / TrackEntry (AE): TrackNumber, TrackType (2 = audio), CodecID (`A_OPUS`),
 *    CodecPrivate (the OpusHead), CodecDelay and SeekPreRoll (ns), Audio/Channels, SamplingFrequency.
 *  - Cluster (1F43B675): Timestamp (E7) plus SimpleBlocks (A3), or BlockGroups (A0) holding a Block
 *    (A1) and maybe DiscardPadding (75A2, ns to drop from the end of that packet: ffmpeg writes it on
 *    the last packet). A Cluster of unknown size ends where the next top-level element begins.
 *  - Everything else (SeekHead, Cues, Tags, Void, CRC-32, Chapters…) is skipped by its size.
 *
 * Robustness: every read is bounds-checked and every loop advances by at least one element header,
 * so truncated or garbage input ends in an `AnalysisError` (MEDIA_TRUNCATED when an element runs
 * past the end of the bytes, MEDIA_MALFORMED otherwise), never a RangeError or a hang.
 */
import { AnalysisError } from './errors.ts';

export const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  DiscardPadding: 0x75a2,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
} as const;

/** Level-1 elements: any of them ends a Cluster of unknown size. */
const SEGMENT_CHILDREN = new Set<number>([
  ID.SeekHead, ID.Info, ID.Tracks, ID.Cluster, ID.Cues, ID.Tags, ID.Chapters, ID.Attachments, ID.EBML,
]);

const TRACK_TYPE_AUDIO = 2;
/** Sentinel returned by readSize for an element of unknown size. */
const UNKNOWN = -1;

export interface WebmTrack {
  number: number;
  /** Matroska TrackType: 1 video, 2 audio… */
  type: number;
  codecId: string;
  codecPrivate: Uint8Array | null;
  /** ns of decoder delay (Opus: the pre-skip), 0 when absent */
  codecDelayNs: number;
  seekPreRollNs: number;
  channels: number;
  samplingFrequencyHz: number;
}

export interface WebmPacket {
  /** Presentation time of the packet, ns from the start of the Segment. */
  timestampNs: number;
  data: Uint8Array;
  /** ns of decoded audio to drop from the END of this packet (BlockGroup DiscardPadding), 0 if none */
  discardPaddingNs: number;
}

export interface WebmAudio {
  docType: string;
  timestampScaleNs: number;
  /** Segment duration from Info, ns; null when the muxer did not write one (live recordings). */
  durationNs: number | null;
  track: WebmTrack;
  packets: WebmPacket[];
}

interface Header {
  id: number;
  /** bytes of content, or UNKNOWN */
  size: number;
  /** first byte of the content */
  start: number;
}

interface RawBlock {
  track: number;
  timestampTicks: number;
  frames: Uint8Array[];
  discardPaddingNs: number;
}

/** True when the bytes start like an EBML document (what the gateway's sniffer checks too). */
export function looksLikeEbml(bytes: Uint8Array): boolean {
  return EBML_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Demuxes the first Opus audio track of a WebM file.
 * @throws AnalysisError UNSUPPORTED_MEDIA_TYPE (not EBML/WebM, or no Opus track but another audio
 *   codec), MEDIA_TRUNCATED, MEDIA_MALFORMED.
 */
export function demuxWebmAudio(bytes: Uint8Array): WebmAudio {
  return new Demuxer(bytes).run();
}

class Demuxer {
  private docType = '';
  private timestampScaleNs = 1_000_000;
  private durationTicks: number | null = null;
  private readonly tracks: WebmTrack[] = [];
  private readonly blocks: RawBlock[] = [];
  private sawTracks = false;
  private segmentRunsToEof = false;

  constructor(private readonly b: Uint8Array) {}

  run(): WebmAudio {
    if (!looksLikeEbml(this.b)) {
      throw new AnalysisError('UNSUPPORTED_MEDIA_TYPE', 'not a WebM file: no EBML header');
    }
    const header = this.header(0, this.b.length);
    if (header.size === UNKNOWN) throw this.malformed(0, 'EBML header of unknown size');
    this.ebmlHeader(header.start, this.end(header, this.b.length));
    if (this.docType !== 'webm' && this.docType !== 'matroska') {
      throw new AnalysisError('UNSUPPORTED_MEDIA_TYPE', `EBML DocType "${this.docType}" is not webm`);
    }
    let pos = this.end(header, this.b.length);
    let sawSegment = false;
    while (pos < this.b.length) {
      const h = this.header(pos, this.b.length);
      if (h.id === ID.Segment) {
        const end = h.size === UNKNOWN ? this.b.length : this.end(h, this.b.length);
        this.segmentRunsToEof = end === this.b.length;
        this.segment(h.start, end);
        sawSegment = true;
        break; // one Segment per chunk file; anything after it is ignored
      }
      if (h.size === UNKNOWN) throw this.malformed(pos, `element ${hex(h.id)} of unknown size before the Segment`);
      pos = this.end(h, this.b.length);
    }
    if (!sawSegment) throw new AnalysisError('MEDIA_TRUNCATED', 'WebM file ends before its Segment');
    return this.result();
  }

  private result(): WebmAudio {
    const audio = this.tracks.filter((t) => t.type === TRACK_TYPE_AUDIO);
    const track = audio.find((t) => t.codecId === 'A_OPUS');
    if (!track) {
      if (!this.sawTracks && this.segmentRunsToEof) throw new AnalysisError('MEDIA_TRUNCATED', 'WebM file ends before its Tracks');
      if (audio.length > 0) {
        throw new AnalysisError('UNSUPPORTED_MEDIA_TYPE', `audio codec ${audio.map((t) => t.codecId).join(', ')} is not Opus`);
      }
      throw new AnalysisError('MEDIA_MALFORMED', 'WebM file has no audio track');
    }
    const scale = this.timestampScaleNs;
    const packets: WebmPacket[] = [];
    for (const blk of this.blocks) {
      if (blk.track !== track.number) continue;
      blk.frames.forEach((data, i) => {
        packets.push({
          timestampNs: blk.timestampTicks * scale,
          data,
          // Discard padding belongs to the block's last frame.
          discardPaddingNs: i === blk.frames.length - 1 ? blk.discardPaddingNs : 0,
        });
      });
    }
    return {
      docType: this.docType,
      timestampScaleNs: scale,
      durationNs: this.durationTicks === null ? null : this.durationTicks * scale,
      track,
      packets,
    };
  }

  private ebmlHeader(pos: number, end: number): void {
    this.children(pos, end, (h, cEnd) => {
      if (h.id === ID.DocType) this.docType = this.string(h.start, cEnd);
    });
  }

  private segment(pos: number, end: number): void {
    while (pos < end) {
      const h = this.header(pos, end);
      if (h.id === ID.Cluster) {
        pos = this.cluster(h, end);
        continue;
      }
      if (h.size === UNKNOWN) throw this.malformed(pos, `element ${hex(h.id)} of unknown size in the Segment`);
      const cEnd = this.end(h, end);
      if (h.id === ID.Info) this.info(h.start, cEnd);
      else if (h.id === ID.Tracks) {
        this.sawTracks = true;
        this.children(h.start, cEnd, (t, tEnd) => t.id === ID.TrackEntry && this.trackEntry(t.start, tEnd));
      }
      pos = cEnd;
    }
  }

  private info(pos: number, end: number): void {
    this.children(pos, end, (h, cEnd) => {
      if (h.id === ID.TimestampScale) {
        const v = this.uint(h.start, cEnd);
        if (v <= 0) throw this.malformed(h.start, 'TimestampScale of 0');
        this.timestampScaleNs = v;
      } else if (h.id === ID.Duration) {
        this.durationTicks = this.float(h.start, cEnd);
      }
    });
  }

  private trackEntry(pos: number, end: number): void {
    const t: WebmTrack = {
      number: 0, type: 0, codecId: '', codecPrivate: null, codecDelayNs: 0, seekPreRollNs: 0,
      channels: 1, samplingFrequencyHz: 8000, // Matroska's defaults
    };
    this.children(pos, end, (h, cEnd) => {
      switch (h.id) {
        case ID.TrackNumber: t.number = this.uint(h.start, cEnd); break;
        case ID.TrackType: t.type = this.uint(h.start, cEnd); break;
        case ID.CodecID: t.codecId = this.string(h.start, cEnd); break;
        case ID.CodecPrivate: t.codecPrivate = this.b.subarray(h.start, cEnd); break;
        case ID.CodecDelay: t.codecDelayNs = this.uint(h.start, cEnd); break;
        case ID.SeekPreRoll: t.seekPreRollNs = this.uint(h.start, cEnd); break;
        case ID.Audio:
          this.children(h.start, cEnd, (a, aEnd) => {
            if (a.id === ID.Channels) t.channels = this.uint(a.start, aEnd);
            else if (a.id === ID.SamplingFrequency) t.samplingFrequencyHz = this.float(a.start, aEnd);
          });
          break;
      }
    });
    this.tracks.push(t);
  }

  /** Parses a Cluster; returns the position after it. */
  private cluster(h: Header, segEnd: number): number {
    const known = h.size !== UNKNOWN;
    const end = known ? this.end(h, segEnd) : segEnd;
    let clusterTicks = 0;
    let pos = h.start;
    while (pos < end) {
      const c = this.header(pos, end);
      if (!known && SEGMENT_CHILDREN.has(c.id)) return pos; // the next level-1 element ends this Cluster
      if (c.size === UNKNOWN) throw this.malformed(pos, `element ${hex(c.id)} of unknown size in a Cluster`);
      const cEnd = this.end(c, end);
      if (c.id === ID.Timestamp) clusterTicks = this.uint(c.start, cEnd);
      else if (c.id === ID.SimpleBlock) this.block(c.start, cEnd, clusterTicks, 0);
      else if (c.id === ID.BlockGroup) this.blockGroup(c.start, cEnd, clusterTicks);
      pos = cEnd;
    }
    return end;
  }

  private blockGroup(pos: number, end: number, clusterTicks: number): void {
    const block = { start: -1, end: -1 };
    let discardPaddingNs = 0;
    this.children(pos, end, (h, cEnd) => {
      if (h.id === ID.Block) [block.start, block.end] = [h.start, cEnd];
      else if (h.id === ID.DiscardPadding) discardPaddingNs = this.int(h.start, cEnd);
    });
    if (block.start < 0) throw this.malformed(pos, 'BlockGroup without a Block');
    this.block(block.start, block.end, clusterTicks, Math.max(0, discardPaddingNs));
  }

  /** A (Simple)Block: track vint, int16 relative timestamp, flags, then the (maybe laced) frames. */
  private block(pos: number, end: number, clusterTicks: number, discardPaddingNs: number): void {
    const track = this.vint(pos, end, false);
    let p = pos + track.length;
    if (p + 3 > end) throw this.malformed(pos, 'Block shorter than its header');
    const rel = ((this.b[p]! << 8) | this.b[p + 1]!) << 16 >> 16; // signed 16-bit
    const flags = this.b[p + 2]!;
    p += 3;
    const frames = this.frames(p, end, (flags >> 1) & 3);
    this.blocks.push({ track: track.value, timestampTicks: clusterTicks + rel, frames, discardPaddingNs });
  }

  private frames(pos: number, end: number, lacing: number): Uint8Array[] {
    if (lacing === 0) return [this.b.subarray(pos, end)];
    if (pos >= end) throw this.malformed(pos, 'laced Block without a frame count');
    const count = this.b[pos]! + 1;
    let p = pos + 1;
    const sizes: number[] = [];
    if (lacing === 1) { // Xiph: each size is a run of 255s plus a final byte
      for (let i = 0; i < count - 1; i++) {
        let size = 0;
        for (;;) {
          if (p >= end) throw this.malformed(p, 'Xiph lace sizes run past the Block');
          const v = this.b[p++]!;
          size += v;
          if (v !== 255) break;
        }
        sizes.push(size);
      }
    } else if (lacing === 3) { // EBML: first size unsigned, then signed differences
      const first = this.vint(p, end, false);
      p += first.length;
      sizes.push(first.value);
      for (let i = 1; i < count - 1; i++) {
        const d = this.vint(p, end, false);
        p += d.length;
        const bias = 2 ** (7 * d.length - 1) - 1;
        sizes.push(sizes[i - 1]! + (d.value - bias));
      }
    } else { // fixed: equal sizes
      const total = end - p;
      if (total % count !== 0) throw this.malformed(pos, 'fixed-size lacing does not divide the Block');
      for (let i = 0; i < count - 1; i++) sizes.push(total / count);
    }
    const used = sizes.reduce((a, s) => a + s, 0);
    if (sizes.some((s) => s < 0) || p + used > end) throw this.malformed(pos, 'lace sizes exceed the Block');
    sizes.push(end - p - used);
    return sizes.map((s) => {
      const f = this.b.subarray(p, p + s);
      p += s;
      return f;
    });
  }

  /** Visits the known-size children of a master element. */
  private children(pos: number, end: number, visit: (h: Header, end: number) => unknown): void {
    while (pos < end) {
      const h = this.header(pos, end);
      if (h.size === UNKNOWN) throw this.malformed(pos, `element ${hex(h.id)} of unknown size`);
      const cEnd = this.end(h, end);
      visit(h, cEnd);
      pos = cEnd;
    }
  }

  private header(pos: number, end: number): Header {
    const id = this.vint(pos, end, true);
    if (id.length > 4) throw this.malformed(pos, 'element ID longer than 4 bytes');
    const size = this.vint(pos + id.length, end, false);
    return { id: id.value, size: size.unknown ? UNKNOWN : size.value, start: pos + id.length + size.length };
  }

  /** End of an element's content, checked against its parent's end and the bytes. */
  private end(h: Header, parentEnd: number): number {
    const e = h.start + h.size;
    if (e > this.b.length) {
      throw new AnalysisError('MEDIA_TRUNCATED', `WebM truncated: element ${hex(h.id)} at byte ${h.start} needs ${h.size} bytes, ${this.b.length - h.start} left`);
    }
    if (e > parentEnd) throw this.malformed(h.start, `element ${hex(h.id)} overruns its parent`);
    return e;
  }

  /**
   * An EBML variable-length integer: the count of leading zero bits of the first byte gives its
   * length (1..8). IDs keep the marker bit; sizes drop it, and all ones means "unknown".
   */
  private vint(pos: number, end: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } {
    if (pos >= end) throw this.cut(pos, end, 'an element header');
    const first = this.b[pos]!;
    if (first === 0) throw this.malformed(pos, 'invalid variable-length integer (first byte 0)');
    const length = Math.clz32(first) - 23; // 1..8 for a non-zero byte
    if (pos + length > end) throw this.cut(pos, end, 'a variable-length integer');
    const mask = 0xff >> length;
    let value = keepMarker ? first : first & mask;
    let allOnes = (first & mask) === mask;
    for (let i = 1; i < length; i++) {
      const v = this.b[pos + i]!;
      value = value * 256 + v;
      if (v !== 0xff) allOnes = false;
    }
    return { value, length, unknown: !keepMarker && allOnes };
  }

  private uint(pos: number, end: number): number {
    if (end - pos > 8) throw this.malformed(pos, 'unsigned integer longer than 8 bytes');
    let v = 0;
    for (let i = pos; i < end; i++) v = v * 256 + this.b[i]!;
    return v;
  }

  private int(pos: number, end: number): number {
    const len = end - pos;
    if (len === 0) return 0;
    const u = this.uint(pos, end);
    return this.b[pos]! & 0x80 ? u - 2 ** (8 * len) : u;
  }

  private float(pos: number, end: number): number {
    const view = new DataView(this.b.buffer, this.b.byteOffset + pos, end - pos);
    if (end - pos === 4) return view.getFloat32(0);
    if (end - pos === 8) return view.getFloat64(0);
    if (end === pos) return 0;
    throw this.malformed(pos, `float of ${end - pos} bytes`);
  }

  private string(pos: number, end: number): string {
    let s = '';
    for (let i = pos; i < end && this.b[i] !== 0; i++) s += String.fromCharCode(this.b[i]!);
    return s;
  }

  private cut(pos: number, end: number, what: string): AnalysisError {
    return end === this.b.length
      ? new AnalysisError('MEDIA_TRUNCATED', `WebM truncated at byte ${pos}, inside ${what}`)
      : this.malformed(pos, `${what} overruns its parent`);
  }

  private malformed(pos: number, what: string): AnalysisError {
    return new AnalysisError('MEDIA_MALFORMED', `malformed WebM at byte ${pos}: ${what}`);
  }
}

function hex(id: number): string {
  return `0x${id.toString(16).toUpperCase()}`;
}
