import { describe, expect, test } from "bun:test";
import { BlobKind } from "../../../proto/gen/media/v1/common";
import { type PutBlob, PutBlobsRequest } from "../../../proto/gen/media/v1/storage";
import { serializePutBlobsRequest } from "./put-blobs-serializer";

const ref = { sessionId: "11111111-1111-4111-8111-111111111111", kind: BlobKind.BLOB_KIND_AUDIO, index: 300, mediaType: "audio/webm" };
const bytes = (n: number) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff));

describe("serializePutBlobsRequest", () => {
  const items: [string, PutBlob][] = [
    ["empty item", { requestId: 0, ref: undefined, data: Buffer.alloc(0), sha256Hex: "" }],
    ["no data", { requestId: 7, ref, data: Buffer.alloc(0), sha256Hex: "ab".repeat(32) }],
    ["1 byte", { requestId: 1, ref, data: bytes(1), sha256Hex: "cd".repeat(32) }],
    ["127 and 128 bytes (varint edge)", { requestId: 127, ref, data: bytes(128), sha256Hex: "ef".repeat(32) }],
    ["50 KiB, big request id", { requestId: 2 ** 40 + 5, ref, data: bytes(50 * 1024), sha256Hex: "01".repeat(32) }],
    ["8 MiB", { requestId: 2 ** 53 - 1, ref: { ...ref, kind: BlobKind.BLOB_KIND_FRAME, index: 2 ** 32 - 1 }, data: bytes(8 << 20), sha256Hex: "23".repeat(32) }],
  ];
  const cases: [string, PutBlobsRequest][] = [
    ["no items", { items: [] }],
    ...items.map(([name, it]): [string, PutBlobsRequest] => [name, { items: [it] }]),
    ["several items, mixed sizes", { items: items.map(([, it]) => it) }],
  ];
  for (const [name, m] of cases) {
    test(`${name}: same bytes as the generated encoder, and decodes back`, () => {
      const ours = serializePutBlobsRequest(m);
      expect(Buffer.compare(ours, Buffer.from(PutBlobsRequest.encode(m).finish()))).toBe(0);
      const back = PutBlobsRequest.decode(ours);
      expect(back.items).toHaveLength(m.items.length);
      back.items.forEach((b, i) => {
        expect(b.requestId).toBe(m.items[i]!.requestId);
        expect(Buffer.from(b.data).equals(Buffer.from(m.items[i]!.data))).toBe(true);
        expect(b.sha256Hex).toBe(m.items[i]!.sha256Hex);
      });
    });
  }
});
