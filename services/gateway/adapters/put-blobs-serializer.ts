/**
 * @module gateway/adapters/put-blobs-serializer
 * PutBlobsRequest → bytes with ONE copy of each blob. The generated serializer copies a 50 KiB
 * blob three times (into the BinaryWriter's chunk, again when `finish` joins the chunks, and into
 * a Buffer); in the gateway's CPU profile that was 13–19% of all its time. Here the small fields
 * are encoded by the generated code and each blob is copied once, straight into the result. The
 * bytes are identical to the generated encoding (same field order; the test checks it).
 */
import { PutBlob, type PutBlobsRequest } from "../../../proto/gen/media/v1/storage";

const NONE = Buffer.alloc(0);
/** PutBlobsRequest field 1 (items), wire type 2 (length-delimited). */
const ITEM_TAG = (1 << 3) | 2;
/** PutBlob field 3 (data), wire type 2. */
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

/** One item, its small fields encoded; `length` is its encoded size. */
interface Parts {
  head: Uint8Array;
  data: Uint8Array;
  tail: Uint8Array;
  length: number;
}

function parts(p: PutBlob): Parts {
  const head = PutBlob.encode({ requestId: p.requestId, ref: p.ref, data: NONE, sha256Hex: "" }).finish();
  const tail = PutBlob.encode({ requestId: 0, ref: undefined, data: NONE, sha256Hex: p.sha256Hex }).finish();
  const n = p.data.byteLength;
  const dataField = n === 0 ? 0 : 1 + varintLength(n) + n;
  return { head, data: p.data, tail, length: head.byteLength + dataField + tail.byteLength };
}

export function serializePutBlobsRequest(m: PutBlobsRequest): Buffer {
  const items = m.items.map(parts);
  const total = items.reduce((sum, it) => sum + 1 + varintLength(it.length) + it.length, 0);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const it of items) {
    out[pos++] = ITEM_TAG;
    pos = writeVarint(out, pos, it.length);
    out.set(it.head, pos);
    pos += it.head.byteLength;
    const n = it.data.byteLength;
    if (n !== 0) {
      out[pos++] = DATA_TAG;
      pos = writeVarint(out, pos, n);
      out.set(it.data, pos);
      pos += n;
    }
    out.set(it.tail, pos);
    pos += it.tail.byteLength;
  }
  return out;
}
