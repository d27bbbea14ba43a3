/**
 * @module sniff
 * Content sniffing, so the stored file really is what its extension says. Structural checks of
 * the container's first bytes (and a JPEG's last two), not a decode: cheap enough for every blob,
 * strict enough that renamed or forged payloads are refused.
 *
 *  - WebM: an EBML header (ID 1A 45 DF A3, a known size that fits) whose DocType element
 *    (ID 42 82) is "webm", followed by a Segment (ID 18 53 80 67). Chromium's and Firefox's
 *    MediaRecorder and `ffmpeg -f webm` write exactly that; a Matroska ("matroska") file is refused.
 *  - MP4: a first box `ftyp` (size 16..len, whole 4-byte brands) whose major or a compatible
 *    brand is one of AUDIO_MP4_BRANDS, then the header of another box. Safari's MediaRecorder
 *    (AAC in MP4), Chromium's (`audio/mp4`), `ffmpeg -f mp4` and `-f ipod` all carry one of them;
 *    HEIF/AVIF images (`mif1`, `heic`, `avif`), QuickTime (`qt  `) and 3GPP are refused.
 *  - JPEG: SOI (FF D8), then a valid marker-segment sequence (each FF xx with a 16-bit length that
 *    fits, fill bytes FF allowed) containing a frame header (SOFn) before the first SOS, whose own
 *    header is well-formed; the entropy-coded data after it is not parsed, and the file must end
 *    with EOI (FF D9). A canvas.toBlob('image/jpeg') and `ffmpeg … x.jpg` pass.
 */
export type AudioMediaType = "audio/webm" | "audio/mp4";

/**
 * ISO base-media brands accepted for audio/mp4 (ISO/IEC 14496-12, 14496-14, Apple's M4A, DASH).
 * What the recorders emit: ffmpeg `-f mp4` isom/iso2/mp41 (fragmented: + iso6), `-f ipod` M4A /
 * isom / iso2, AVFoundation (Safari) M4A / mp42 / isom, Chromium's muxer isom, DASH packagers
 * dash / iso6 / mp41.
 */
export const AUDIO_MP4_BRANDS: readonly string[] = ["M4A ", "mp41", "mp42", "isom", "iso2", "iso4", "iso5", "iso6", "dash"];

export function sniffAudio(b: Uint8Array): AudioMediaType | null {
  if (isWebm(b)) return "audio/webm";
  if (isAudioMp4(b)) return "audio/mp4";
  return null;
}

// --- WebM ----------------------------------------------------------------------------------

const EBML_ID = 0x1a45dfa3;
const DOCTYPE_ID = 0x4282;
const SEGMENT_ID = 0x18538067;

/** An EBML variable-length integer at `pos`: its value (marker bit cleared unless keepMarker) and length; null if malformed. */
function vint(b: Uint8Array, pos: number, maxLen: number, keepMarker: boolean): { value: number; len: number; unknown: boolean } | null {
  const first = b[pos];
  if (first === undefined || first === 0) return null;
  const len = Math.clz32(first) - 23; // 1 for 1xxxxxxx … 8 for 00000001
  if (len > maxLen || pos + len > b.length) return null;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    const x = b[pos + i]!;
    value = value * 256 + x;
    allOnes &&= x === 0xff;
  }
  return { value, len, unknown: !keepMarker && allOnes };
}

/** An element header at `pos`: id, data size and where its data starts. */
function element(b: Uint8Array, pos: number): { id: number; size: number; data: number; unknown: boolean } | null {
  const id = vint(b, pos, 4, true);
  if (!id) return null;
  const size = vint(b, pos + id.len, 8, false);
  if (!size) return null;
  return { id: id.value, size: size.value, data: pos + id.len + size.len, unknown: size.unknown };
}

export function isWebm(b: Uint8Array): boolean {
  const header = element(b, 0);
  if (!header || header.id !== EBML_ID || header.unknown) return false;
  const end = header.data + header.size;
  if (end > b.length) return false;
  let docType: string | null = null;
  for (let pos = header.data; pos < end; ) {
    const child = element(b, pos);
    if (!child || child.unknown || child.data + child.size > end) return false;
    if (child.id === DOCTYPE_ID) {
      // An EBML string may be padded with trailing NULs.
      docType = String.fromCharCode(...b.subarray(child.data, child.data + Math.min(child.size, 16))).replace(/\0+$/, "");
    }
    pos = child.data + child.size;
  }
  if (docType !== "webm") return false;
  const next = element(b, end);
  return next !== null && next.id === SEGMENT_ID;
}

// --- MP4 -----------------------------------------------------------------------------------

function u32(b: Uint8Array, pos: number): number {
  return ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0;
}

function fourcc(b: Uint8Array, pos: number): string {
  return String.fromCharCode(b[pos]!, b[pos + 1]!, b[pos + 2]!, b[pos + 3]!);
}

const FOURCC_RE = /^[\x20-\x7e]{4}$/;

export function isAudioMp4(b: Uint8Array): boolean {
  if (b.length < 16 || fourcc(b, 4) !== "ftyp") return false;
  const size = u32(b, 0);
  // 0 ("to the end") and 1 (64-bit size) are legal for other boxes, never seen for ftyp.
  if (size < 16 || (size - 16) % 4 !== 0 || size + 8 > b.length) return false;
  const brands = [fourcc(b, 8)];
  for (let pos = 16; pos < size; pos += 4) brands.push(fourcc(b, pos));
  if (!brands.some((x) => AUDIO_MP4_BRANDS.includes(x))) return false;
  // Something must follow: the header of the next box (moov, free, mdat, moof, …).
  const nextSize = u32(b, size);
  return (nextSize === 0 || nextSize === 1 || nextSize >= 8) && FOURCC_RE.test(fourcc(b, size + 4));
}

// --- JPEG ----------------------------------------------------------------------------------

/** SOFn markers (frame headers): C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

export function isJpeg(b: Uint8Array): boolean {
  const n = b.length;
  if (n < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[n - 2] !== 0xff || b[n - 1] !== 0xd9) return false;
  let pos = 2;
  let sawFrame = false;
  while (pos < n - 2) {
    if (b[pos] !== 0xff) return false;
    while (pos < n && b[pos] === 0xff) pos++; // fill bytes
    const m = b[pos++];
    if (m === undefined || m === 0x00) return false;
    if (m === 0x01) continue; // TEM: no length
    // SOI again, EOI or RSTn before any scan: not a valid header sequence.
    if (m === 0xd8 || m === 0xd9 || (m >= 0xd0 && m <= 0xd7)) return false;
    if (pos + 2 > n) return false;
    const len = (b[pos]! << 8) | b[pos + 1]!;
    if (len < 2 || pos + len > n - 2) return false;
    if (isSof(m)) sawFrame = true;
    if (m === 0xda) {
      const components = b[pos + 2]!;
      // SOS: Ls = 6 + 2·Ns with 1 ≤ Ns ≤ 4, after a frame header, and some scan data before EOI.
      return sawFrame && components >= 1 && components <= 4 && len === 6 + 2 * components && pos + len < n - 2;
    }
    pos += len;
  }
  return false;
}
