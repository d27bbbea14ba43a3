/**
 * @module sniff
 * Content sniffing by magic bytes, so the stored file really is what its extension says:
 *  - WebM/Matroska starts with the EBML magic 1A 45 DF A3;
 *  - MP4 (what Safari's MediaRecorder produces) has an `ftyp` box: bytes 4..7 are "ftyp";
 *  - JPEG starts with the SOI marker FF D8 followed by another marker FF.
 */
export type AudioMediaType = "audio/webm" | "audio/mp4";

export function sniffAudio(b: Uint8Array): AudioMediaType | null {
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "audio/webm";
  if (b.length >= 8 && b[4] === 0x66 && b[5] === 0x74 && b[6] === 0x79 && b[7] === 0x70) return "audio/mp4";
  return null;
}

export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}
