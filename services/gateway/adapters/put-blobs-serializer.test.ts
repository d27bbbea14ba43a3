import { describe, expect, test } from "bun:test";
import { BlobKind } from "../../../proto/gen/media/v1/common";
import { PutBlobsRequest } from "../../../proto/gen/media/v1/storage";
import { serializePutBlobsRequest } from "./put-blobs-serializer";

const ref = { sessionId: "11111111-1111-4111-8111-111111111111", kind: BlobKind.BLOB_KIND_AUDIO, index: 300, mediaType: "audio/webm" };
const bytes = (n: number) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff));

describe("serializePutBlobsRequest", () => {
  const cases: [string, PutBlobsRequest][] = [
    ["empty message", { requestId: 0, ref: undefined, data: Buffer.alloc(0), sha256Hex: "" }],
    ["no data", { requestId: 7, ref, data: Buffer.alloc(0), sha256Hex: "ab".repeat(32) }],
    ["1 byte", { requestId: 1, ref, data: bytes(1), sha256Hex: "cd".repeat(32) }],
    ["127 and 128 bytes (varint edge)", { requestId: 127, ref, data: bytes(128), sha256Hex: "ef".repeat(32) }],
    ["50 KiB, big request id", { requestId: 2 ** 40 + 5, ref, data: bytes(50 * 1024), sha256Hex: "01".repeat(32) }],
    ["8 MiB", { requestId: 2 ** 53 - 1, ref: { ...ref, kind: BlobKind.BLOB_KIND_FRAME, index: 2 ** 32 - 1 }, data: bytes(8 << 20), sha256Hex: "23".repeat(32) }],
  ];
  for (const [name, m] of cases) {
    test(`${name}: same bytes as the generated encoder, and decodes back`, () => {
      const ours = serializePutBlobsRequest(m);
      expect(Buffer.compare(ours, Buffer.from(PutBlobsRequest.encode(m).finish()))).toBe(0);
      const back = PutBlobsRequest.decode(ours);
      expect(back.requestId).toBe(m.requestId);
      expect(Buffer.from(back.data).equals(Buffer.from(m.data))).toBe(true);
      expect(back.sha256Hex).toBe(m.sha256Hex);
    });
  }
});
