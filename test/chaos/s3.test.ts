/**
 * Chaos: the S3 server (versitygw, started by this file) killed and kept down for 30 s while four
 * sessions record against storage with STORAGE_BACKEND=s3, then started again on the same port
 * and folder. Nothing may be acked while it is down; everything is stored once it is back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startS3, type TestS3 } from "../support/s3";
import { type Stack, startStack } from "../support/stack";
import { runChaosCase, ZERO, zeroLoss } from "./support/run-case";
import { s3StoreView } from "./support/verify";

const DOWN_MS = 30_000;
let s3: TestS3;
let bucket = "";
let stack: Stack | null = null;

beforeAll(async () => {
  s3 = await startS3();
  bucket = await s3.createBucket();
});
afterAll(async () => {
  await stack?.stop();
  if (bucket) await s3.resume().then(() => s3.deleteBucket(bucket)).catch(() => {});
  await s3?.stop();
});

test("chaos: S3 server down for 30 s", async () => {
  stack = await startStack({
    logLevel: "error",
    storageEnv: {
      STORAGE_BACKEND: "s3",
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    },
  });
  let ackedWhileDown = -1;
  const counts = await runChaosCase({
    name: "s3-down-30s",
    stack,
    store: s3StoreView(s3.client, bucket),
    // Recording goes on through the outage: 12 s of recording, most of it while S3 is down.
    client: { chunks: 12, framesPerChunk: 4, chunkEveryMs: 1000 },
    deadlineMs: 120_000,
    async fault(ctx) {
      await ctx.ackedAtLeast(20);
      await s3.pause();
      // Acks already in flight may still land just after the kill; count from a second later.
      await Bun.sleep(1000);
      const before = ctx.clients.reduce((n, c) => n + c.acked.size, 0);
      await Bun.sleep(DOWN_MS - 1000);
      ackedWhileDown = ctx.clients.reduce((n, c) => n + c.acked.size, 0) - before;
      await s3.resume();
    },
  });
  expect(zeroLoss(counts)).toEqual(ZERO);
  expect(ackedWhileDown).toBe(0);
  expect(counts.disruptions).toBeGreaterThan(0);
});
