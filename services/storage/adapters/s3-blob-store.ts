/**
 * @module s3-blob-store
 * BlobStore on an S3-compatible object store (AWS S3, MinIO, versitygw...).
 *
 * Layout: key = [prefix/]<session_id>/audio/chunk_<N>.<ext> or [prefix/]<session_id>/frames/frame_<N>.jpg,
 * the same as on disk (core/blob-ref.ts). `location` is s3://bucket/key.
 *
 * Mapping of a put:
 *  - integrity: the SHA-256 (verified locally first) is sent as x-amz-checksum-sha256 so the
 *    server refuses damaged bytes (BadDigest -> CHECKSUM_MISMATCH), and its hex form is kept in
 *    the object's metadata (x-amz-meta-sha256): that is what later IDENTICAL/CONFLICT decisions
 *    and HeadBlob compare, without downloading the object;
 *  - create-only: PutObject with `If-None-Match: *`. 412 (or 409 while a concurrent conditional
 *    write is in progress) means the key exists: HeadObject and compare the stored digest.
 *    Conditional writes are required: with several storage replicas and gateways, two writers of
 *    one key are normal (a session taken over mid-upload), and HEAD-then-PUT would let the second
 *    overwrite the first. A server answering 501 NotImplemented gets INTERNAL (reason
 *    no_conditional_writes, logged) for every put, and `verifyConditionalWrites` (run at start-up
 *    by main.ts) refuses to start on a server that does not implement it or ignores it;
 *  - the SDK is configured for non-AWS servers: path-style URLs, and checksums only when
 *    required, since default aws-chunked streaming bodies are stored verbatim by some servers.
 * Listing (ListBlobs): ListObjectsV2 under [prefix/][session/] with StartAfter = the page token
 * (the last key of the previous page, relative to the prefix), so fs and S3 share one token
 * format and one order; keys that are not blob names are skipped. A conditional delete
 * (`unmodifiedSinceMs`) compares the HEAD's LastModified first (DeleteObject has no such
 * condition on every server): a narrow race, which the orphan sweeper's grace period covers.
 * S3 errors are translated here: NotFound/NoSuchKey -> NOT_FOUND, network failures and 5xx/503
 * -> UPSTREAM_UNAVAILABLE, everything else stays INTERNAL (logged once by the gRPC adapter).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { AppError } from "../../shared/errors";
import { type CheckedRef, parseBlobKey } from "../core/blob-ref";
import {
  type BlobData,
  type BlobHead,
  type BlobStore,
  type CheckedPut,
  type DeleteOptions,
  type ListPage,
  type ListQuery,
  type ListedBlob,
  type PutResult,
  outcomeForExisting,
} from "../core/blob-store";
import { hexToBase64, sha256Hex } from "../core/checksum";

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix, e.g. "media" -> "media/<session>/..."; empty for none. */
  prefix?: string;
  /** e.g. http://127.0.0.1:7070; undefined for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Both or neither; without them the SDK's default credential chain applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
}

const META_SHA256 = "sha256";

interface S3ErrorLike {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  code?: string;
}

function statusOf(err: unknown): number | undefined {
  return (err as S3ErrorLike)?.$metadata?.httpStatusCode;
}
function nameOf(err: unknown): string | undefined {
  const e = err as S3ErrorLike;
  return e?.name ?? e?.Code;
}

function isNotFound(err: unknown): boolean {
  const n = nameOf(err);
  return n === "NotFound" || n === "NoSuchKey" || statusOf(err) === 404;
}

/** Foreign S3/network errors -> AppError (first place they are seen). */
export function translateS3Error(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const n = nameOf(err);
  const s = statusOf(err);
  if (isNotFound(err) && n !== "NoSuchBucket") return new AppError("NOT_FOUND", "no such blob", {}, { cause: err });
  if (n === "BadDigest" || n === "XAmzContentSHA256Mismatch" || n === "InvalidDigest") return new AppError("CHECKSUM_MISMATCH", undefined, {}, { cause: err });
  // 507 Insufficient Storage (RFC 4918), as MinIO answers when its drives are full (code
  // XMinioStorageFull): the server is up but takes no more. (EntityTooLarge is one object's size.)
  if (s === 507 || n === "XMinioStorageFull") return new AppError("STORAGE_FULL", "object store is full: send the item again later", {}, { cause: err, reason: "s3_507" });
  const code = (err as S3ErrorLike)?.code;
  if (
    (s !== undefined && (s >= 500 || s === 429)) ||
    n === "TimeoutError" ||
    n === "SlowDown" ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "ETIMEDOUT" ||
    code === "ConnectionRefused"
  ) {
    return new AppError("UPSTREAM_UNAVAILABLE", "object store unavailable", {}, { cause: err });
  }
  return err;
}

/** The object store cannot do create-only writes: Candid cannot use it (docs/storage.md, "S3"). */
function noConditionalWrites(cause: unknown): AppError {
  return new AppError(
    "INTERNAL",
    "the object store does not implement conditional writes (PutObject If-None-Match: *), which Candid requires",
    {},
    { reason: "no_conditional_writes", cause },
  );
}

export class S3BlobStore implements BlobStore {
  readonly backend = "s3";
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    const p = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.prefix = p ? `${p}/` : "";
    const config: S3ClientConfig = {
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    if (opts.accessKeyId && opts.secretAccessKey) {
      config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
    }
    this.client = new S3Client(config);
  }

  keyOf(at: CheckedRef): string {
    return this.prefix + at.key;
  }

  describe(): Record<string, unknown> {
    return { bucket: this.bucket, prefix: this.prefix };
  }

  locationOf(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async ready(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch {
      return false;
    }
  }

  async write(c: CheckedPut): Promise<PutResult> {
    const key = this.prefix + c.key;
    try {
      try {
        await this.send(c, key);
        return { outcome: "created", location: this.locationOf(key) };
      } catch (err) {
        const s = statusOf(err);
        if (s === 412 || s === 409 || nameOf(err) === "PreconditionFailed") return await this.compareExisting(c, key);
        if (s === 501 || nameOf(err) === "NotImplemented") throw noConditionalWrites(err);
        throw err;
      }
    } catch (err) {
      throw translateS3Error(err);
    }
  }

  /**
   * Start-up check: the server refuses a second create-only PUT of one key (If-None-Match: *).
   * Throws AppError INTERNAL (reason no_conditional_writes) when it does not implement the header
   * (501) or ignores it (the second PUT succeeds); the probe object is deleted either way.
   */
  async verifyConditionalWrites(): Promise<void> {
    const key = `${this.prefix}.candid-probe/${crypto.randomUUID()}`;
    const put = () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, IfNoneMatch: "*" }));
    try {
      try {
        await put();
      } catch (err) {
        if (statusOf(err) === 501 || nameOf(err) === "NotImplemented") throw noConditionalWrites(err);
        throw translateS3Error(err);
      }
      try {
        await put();
      } catch (err) {
        const s = statusOf(err);
        if (s === 412 || s === 409 || nameOf(err) === "PreconditionFailed") return;
        if (s === 501 || nameOf(err) === "NotImplemented") throw noConditionalWrites(err);
        throw translateS3Error(err);
      }
      throw noConditionalWrites(new Error("a second PUT with If-None-Match: * of an existing key succeeded"));
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
    }
  }

  private async send(c: CheckedPut, key: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: c.data,
        ContentLength: c.data.byteLength,
        ContentType: c.ref.mediaType,
        ChecksumSHA256: hexToBase64(c.sha256Hex),
        Metadata: { [META_SHA256]: c.sha256Hex },
        IfNoneMatch: "*",
      }),
    );
  }

  private async compareExisting(c: CheckedPut, key: string): Promise<PutResult> {
    // A 409 can mean "a concurrent conditional write is in flight": give it a moment to land.
    for (let attempt = 0; ; attempt++) {
      const head = await this.headKey(key);
      if (head) return { outcome: outcomeForExisting(head.sha256Hex, c.sha256Hex), location: this.locationOf(key) };
      if (attempt >= 5) throw new AppError("UPSTREAM_UNAVAILABLE", "object store refused the write but has no object");
      await Bun.sleep(20 * (attempt + 1));
    }
  }

  private async headKey(key: string): Promise<(BlobHead & { modifiedAtMs: number }) | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        size: r.ContentLength ?? 0,
        sha256Hex: r.Metadata?.[META_SHA256] ?? "",
        location: this.locationOf(key),
        modifiedAtMs: r.LastModified?.getTime() ?? 0,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async get(at: CheckedRef): Promise<BlobData> {
    const key = this.keyOf(at);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const data = await r.Body!.transformToByteArray();
      const actual = sha256Hex(data);
      const stored = r.Metadata?.[META_SHA256];
      if (stored && stored !== actual) throw new AppError("CHECKSUM_MISMATCH", "stored object does not match its recorded SHA-256");
      return { data, sha256Hex: actual };
    } catch (err) {
      throw translateS3Error(err);
    }
  }

  async head(at: CheckedRef): Promise<BlobHead | null> {
    const key = this.keyOf(at);
    try {
      const h = await this.headKey(key);
      return h && { size: h.size, sha256Hex: h.sha256Hex, location: h.location };
    } catch (err) {
      throw translateS3Error(err);
    }
  }

  async delete(at: CheckedRef, opts: DeleteOptions = {}): Promise<boolean> {
    const key = this.keyOf(at);
    try {
      // DeleteObject answers 204 whether or not the key existed: HEAD first to report `deleted`.
      const head = await this.headKey(key);
      if (!head) return false;
      if (opts.unmodifiedSinceMs !== undefined && head.modifiedAtMs > opts.unmodifiedSinceMs) return false;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      throw translateS3Error(err);
    }
  }

  async list(q: ListQuery): Promise<ListPage> {
    const base = this.prefix + (q.sessionId ? `${q.sessionId}/` : "");
    const blobs: ListedBlob[] = [];
    let after = q.after;
    try {
      // A page of S3 keys may hold names that are not blobs: ask again until the page is full.
      for (;;) {
        const startAfter = after ? this.prefix + after : undefined;
        const r = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, StartAfter: startAfter, MaxKeys: q.pageSize - blobs.length }),
        );
        for (const o of r.Contents ?? []) {
          if (!o.Key) continue;
          after = o.Key.slice(this.prefix.length);
          const at = parseBlobKey(after);
          if (at) blobs.push({ at, size: o.Size ?? 0, modifiedAtMs: o.LastModified?.getTime() ?? 0 });
        }
        if (!r.IsTruncated) return { blobs, next: "" };
        if (blobs.length >= q.pageSize) return { blobs, next: after };
        if (!r.Contents?.length) return { blobs, next: after }; // a truncated empty page: let the caller continue
      }
    } catch (err) {
      throw translateS3Error(err);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
