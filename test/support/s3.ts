/**
 * @module s3
 * A real S3-compatible server for tests: versitygw (Go, Apache-2.0) with its posix backend over a
 * temp folder, on a free port. Install it with `bash test/install-tools.sh`.
 * Each test creates its own bucket (`createBucket`) and removes it (`deleteBucket`).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, testId, pump } from "./procs";

export const TOOLS_DIR = process.env.CANDID_TOOLS_DIR || join(homedir(), ".cache", "candid-tools");
export const VERSITYGW_BIN = join(TOOLS_DIR, "versitygw");

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A client configured for this server. */
  client: S3Client;
  /** Creates a fresh, uniquely named bucket. */
  createBucket(): Promise<string>;
  /** Empties the bucket, then deletes it. */
  deleteBucket(name: string): Promise<void>;
  /** Kills the server (SIGKILL) but keeps its folder: the S3 server is down until `resume`. */
  pause(): Promise<void>;
  /** Starts the server again on the same port and folder (after `pause`). */
  resume(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startS3(opts: { timeoutMs?: number } = {}): Promise<TestS3> {
  if (!existsSync(VERSITYGW_BIN)) {
    throw new Error(`versitygw not found at ${VERSITYGW_BIN}: run \`bash test/install-tools.sh\` (needs Go and the Go module proxy)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "candid-s3-"));
  const port = await freePort();
  const accessKeyId = "candidtest";
  const secretAccessKey = "candidtestsecret";
  const region = "us-east-1";
  const endpoint = `http://127.0.0.1:${port}`;
  const out: string[] = [];
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const spawn = (): Subprocess => {
    const p = Bun.spawn(
      [VERSITYGW_BIN, "--access", accessKeyId, "--secret", secretAccessKey, "--region", region, "--port", `127.0.0.1:${port}`, "--quiet", "posix", dir],
      { stdout: "pipe", stderr: "pipe" },
    );
    void pump(p.stdout as ReadableStream<Uint8Array>, out);
    void pump(p.stderr as ReadableStream<Uint8Array>, out);
    return p;
  };
  let proc = spawn();

  const kill = async (signal: NodeJS.Signals) => {
    if (proc.exitCode === null && !proc.signalCode) {
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(t);
    }
  };
  const stop = async () => {
    await kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };

  const waitUp = async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`versitygw exited with ${proc.exitCode}:\n${out.join("")}`);
      // Any HTTP answer (403 for an anonymous request) means it is listening.
      const up = await fetch(endpoint, { signal: AbortSignal.timeout(500) }).then(
        () => true,
        () => false,
      );
      if (up) return;
      if (Date.now() > deadline) throw new Error(`versitygw did not answer on ${endpoint}:\n${out.join("")}`);
      await Bun.sleep(100);
    }
  };
  try {
    await waitUp();
  } catch (e) {
    await stop();
    throw e;
  }

  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });

  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    client,
    async createBucket() {
      const name = testId("candid").replaceAll("_", "-").toLowerCase();
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async deleteBucket(name) {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 1000 }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys, Quiet: true } }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: name }));
    },
    async pause() {
      await kill("SIGKILL");
    },
    async resume() {
      if (proc.exitCode === null && !proc.signalCode) return;
      proc = spawn();
      await waitUp();
    },
    async stop() {
      client.destroy();
      await stop();
    },
  };
}
