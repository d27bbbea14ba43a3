import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { S3BlobStore } from "../../services/storage/adapters/s3-blob-store";
import { putBlob } from "../../services/storage/core/blob-store";
import { sha256Hex } from "../../services/storage/core/checksum";
import { type TestS3, startS3 } from "../support/s3";
import { audioRef, blobStoreContract, randomBytesOf } from "./blob-store.contract";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

function makeStore(bucket: string, prefix?: string): S3BlobStore {
  return new S3BlobStore({
    bucket,
    prefix,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
}

blobStoreContract("S3BlobStore (versitygw)", async () => {
  const bucket = await s3.createBucket();
  const store = makeStore(bucket, "media");
  return {
    store,
    cleanup: async () => {
      store.close();
      await s3.deleteBucket(bucket);
    },
  };
});

describe("S3BlobStore specifics", () => {
  test("key under the prefix, sha256 in metadata, exact size stored, s3:// location", async () => {
    const bucket = await s3.createBucket();
    const store = makeStore(bucket, "/pre/fix/");
    try {
      const ref = audioRef(0);
      const data = randomBytesOf(1024 * 1024);
      const r = await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) });
      const key = `pre/fix/${ref.sessionId}/audio/chunk_0.webm`;
      expect(r.location).toBe(`s3://${bucket}/${key}`);
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentLength).toBe(1024 * 1024);
      expect(head.Metadata?.sha256).toBe(sha256Hex(data));
      expect((await putBlob(store, { ref, data, sha256Hex: sha256Hex(data) })).outcome).toBe("identical");
      // versitygw implements If-None-Match: the start-up check passes and leaves no probe behind.
      await store.verifyConditionalWrites();
      const left = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "pre/fix/.candid-probe/" }));
      expect(left.KeyCount ?? 0).toBe(0);
    } finally {
      store.close();
      await s3.deleteBucket(bucket);
    }
  });

  test("ready is false for a missing bucket", async () => {
    const store = makeStore("candid-no-such-bucket");
    try {
      expect(await store.ready()).toBe(false);
    } finally {
      store.close();
    }
  });
});
