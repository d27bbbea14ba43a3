/**
 * @module gateway/adapters/put-blobs-serializer
 * PutBlobsRequest → bytes with ONE copy of the blob. The generated serializer copies a 50 KiB
 * blob three times (into the BinaryWriter's chunk, again when `finish` joins the chunks, and into
 * a Buffer); in the gateway's CPU profile that was 13–19% of all its time. Here the small fields
 * are encoded by the generated code and the blob is copied once, straight into the result. The
 * bytes are identical to the generated encoding (same field order; the test checks it).
 */
import { PutBlobsRequest } from "../../../proto/gen/media/v1/storage";

const NONE = Buffer.alloc(0);
/** Field 3 (data), wire type 2 (length-delimited). */
const DATA_TAG = (3 << 3) | 2;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

export function serializePutBlobsRequest(m: PutBlobsRequest): Buffer {
  const head = PutBlobsRequest.encode({ requestId: m.requestId, ref: m.ref, data: NONE, sha256Hex: "" }).finish();
  const tail = PutBlobsRequest.encode({ requestId: 0, ref: undefined, data: NONE, sha256Hex: m.sha256Hex }).finish();
  const n = m.data.byteLength;
  const dataField = n === 0 ? 0 : 1 + varintLength(n) + n;
  const out = Buffer.allocUnsafe(head.byteLength + dataField + tail.byteLength);
  out.set(head, 0);
  let pos = head.byteLength;
  if (n !== 0) {
    out[pos++] = DATA_TAG;
    pos = writeVarint(out, pos, n);
    out.set(m.data, pos);
    pos += n;
  }
  out.set(tail, pos);
  return out;
}
