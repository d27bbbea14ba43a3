/**
 * @module shared/media/ogg-opus
 * Opus packets → an Ogg Opus file (RFC 7845 on RFC 3533): the OpusHead and OpusTags pages, then
 * pages of about one second of packets, each with the granule position (48 kHz samples, pre-skip
 * included) of its last packet; the last page's granule trims the final frame's padding. Pure.
 */

/** The Ogg CRC-32: polynomial 0x04C11DB7, not reflected, initial 0, no final xor. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}

interface PageInput {
  packets: Uint8Array[];
  granule: bigint;
  flags: number;
  serial: number;
  sequence: number;
}

function page(p: PageInput): Uint8Array {
  const lacing: number[] = [];
  for (const pk of p.packets) {
    let n = pk.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (lacing.length > 255) throw new RangeError("too many segments for one Ogg page");
  const bodyLength = p.packets.reduce((s, pk) => s + pk.length, 0);
  const out = new Uint8Array(27 + lacing.length + bodyLength);
  const v = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
  out[4] = 0;
  out[5] = p.flags;
  v.setBigInt64(6, p.granule, true);
  v.setUint32(14, p.serial, true);
  v.setUint32(18, p.sequence, true);
  v.setUint32(22, 0, true);
  out[26] = lacing.length;
  out.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const pk of p.packets) {
    out.set(pk, at);
    at += pk.length;
  }
  v.setUint32(22, oggCrc(out), true);
  return out;
}

export interface OggOpusInput {
  /** Opus packets, in order, each `frameSamples` long at 48 kHz. */
  packets: Uint8Array[];
  frameSamples: number;
  /** The encoder's lookahead, samples at 48 kHz: the decoder drops them. */
  preSkip: number;
  /** Real audio length, samples at 48 kHz (the last frame's padding is trimmed off). */
  totalSamples: number;
  channels?: number;
  inputSampleRate?: number;
  vendor?: string;
  serial?: number;
}

/** Packets per page: 50 × 20 ms = 1 s, well under the 255 segments a page holds. */
const PACKETS_PER_PAGE = 50;

export function writeOggOpus(i: OggOpusInput): Uint8Array {
  const serial = i.serial ?? 0x43616e64; // "Cand"
  const channels = i.channels ?? 1;
  const head = new Uint8Array(19);
  const hv = new DataView(head.buffer);
  head.set(new TextEncoder().encode("OpusHead"), 0);
  head[8] = 1;
  head[9] = channels;
  hv.setUint16(10, i.preSkip, true);
  hv.setUint32(12, i.inputSampleRate ?? 48_000, true);
  hv.setInt16(16, 0, true);
  head[18] = 0;
  const vendor = new TextEncoder().encode(i.vendor ?? "candid");
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  const tv = new DataView(tags.buffer);
  tags.set(new TextEncoder().encode("OpusTags"), 0);
  tv.setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  tv.setUint32(12 + vendor.length, 0, true);

  const pages: Uint8Array[] = [];
  let seq = 0;
  pages.push(page({ packets: [head], granule: 0n, flags: 0x02, serial, sequence: seq++ }));
  pages.push(page({ packets: [tags], granule: 0n, flags: 0, serial, sequence: seq++ }));
  const end = BigInt(i.preSkip + i.totalSamples);
  for (let at = 0; at < i.packets.length; at += PACKETS_PER_PAGE) {
    const packets = i.packets.slice(at, at + PACKETS_PER_PAGE);
    const last = at + packets.length >= i.packets.length;
    let granule = BigInt((at + packets.length) * i.frameSamples);
    if (last || granule > end) granule = end;
    pages.push(page({ packets, granule, flags: last ? 0x04 : 0, serial, sequence: seq++ }));
  }
  if (!i.packets.length) pages[1] = page({ packets: [tags], granule: 0n, flags: 0x04, serial, sequence: 1 });
  const total = pages.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of pages) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
