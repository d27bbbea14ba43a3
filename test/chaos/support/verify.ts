/**
 * @module chaos/verify
 * The end-of-case check of the chaos suite, straight from the sources of truth: the rows in
 * PostgreSQL and the blobs in the media store (the fs folder, or the S3 bucket), compared with
 * what the clients sent and what the gateway acked.
 *
 *   lost              acked items without a row, without a blob, or with other bytes
 *   stored_once       sent items with exactly one row and one blob, both of the sent SHA-256
 *   sha_mismatch      items whose row or blob SHA-256 differs from the sent one
 *   rows_without_blob rows (of the case's sessions) whose blob is not in the store
 *   orphans           blobs and temp files (of the case's sessions) without a row
 *
 * Orphans are reported, not failed: removing them is the reaper's orphan sweeper's job.
 * `sweepOrphans` is the one hook for it: today it only counts them; once the sweeper lands it
 * runs a sweeper pass (grace 0) first, and the suite then asserts orphans = 0.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import postgres from "postgres";
import { MetadataServiceClient } from "../../../proto/gen/media/v1/metadata";
import { StorageServiceClient } from "../../../proto/gen/media/v1/storage";
import { grpcOrphanPorts } from "../../../services/reaper/adapters/grpc-orphan-ports";
import { sweepOrphans as runSweep } from "../../../services/reaper/core/orphan-sweep";
import { internalClient } from "../../../services/shared/grpc";
import { TEST_INTERNAL_TOKEN } from "../../support/procs";
import type { Stack } from "../../support/stack";
import type { ChaosClient } from "./chaos-client";

/** Where the blobs are, by key (`<session>/audio/chunk_<N>.<ext>`, relative to the root/prefix). */
export interface BlobStoreView {
  list(): Promise<string[]>;
  /** SHA-256 (hex) of the blob, or null when it is not there. */
  sha256(key: string): Promise<string | null>;
}

export function fsStoreView(root: string): BlobStoreView {
  const walk = (dir: string, out: string[]) => {
    if (!existsSync(dir)) return out;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, out);
      else out.push(relative(root, p));
    }
    return out;
  };
  return {
    list: async () => walk(root, []),
    async sha256(key) {
      const p = join(root, key);
      return existsSync(p) ? createHash("sha256").update(readFileSync(p)).digest("hex") : null;
    },
  };
}

export function s3StoreView(client: S3Client, bucket: string): BlobStoreView {
  return {
    async list() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async sha256(key) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = await r.Body!.transformToByteArray();
        return createHash("sha256").update(bytes).digest("hex");
      } catch {
        return null;
      }
    },
  };
}

export interface Row {
  sessionId: string;
  kind: "audio" | "frame";
  index: number;
  filePath: string;
  sha256: string;
}

/** The sessions among `sessionIds` whose manifest is sealed (docs/review.md). */
export async function sealedSessions(databaseUrl: string, sessionIds: string[]): Promise<string[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ session_id: string }[]>`SELECT session_id::text AS session_id FROM media_sessions WHERE session_id::text = ANY(${sessionIds}) AND manifest_sha256 IS NOT NULL`;
    return rows.map((r) => r.session_id);
  } finally {
    await sql.end();
  }
}

export async function rowsOf(databaseUrl: string, sessionIds: string[]): Promise<Row[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<Array<{ session_id: string; kind: "audio" | "frame"; idx: string; file_path: string; sha256: string }>>`
      SELECT ms.session_id::text AS session_id, 'audio' AS kind, a.chunk_index AS idx, a.file_path, a.sha256
        FROM audio_chunks a JOIN media_sessions ms ON ms.id = a.media_session_id
       WHERE ms.session_id::text = ANY(${sessionIds})
      UNION ALL
      SELECT ms.session_id::text, 'frame', f.frame_index, f.file_path, f.sha256
        FROM video_frames f JOIN media_sessions ms ON ms.id = f.media_session_id
       WHERE ms.session_id::text = ANY(${sessionIds})`;
    return rows.map((r) => ({ sessionId: r.session_id, kind: r.kind, index: Number(r.idx), filePath: r.file_path, sha256: r.sha256 }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The store key of an item (services/storage/core/blob-ref.ts; the suite sends WebM audio). */
export const blobKeyOf = (sessionId: string, kind: "audio" | "frame", index: number) =>
  kind === "audio" ? `${sessionId}/audio/chunk_${index}.webm` : `${sessionId}/frames/frame_${index}.jpg`;

export interface OrphanReport {
  /** blobs of the given sessions with no row, left after the sweep */
  blobs: string[];
  /** temp files of killed writes (".<name>.<hex>.tmp") of the given sessions, left after the sweep */
  temps: string[];
  /** blobs the sweeper removed (of every session) */
  removed: number;
  /** temp files storage's temp sweep removed (candid_storage_temp_files_removed_total) */
  tempsRemoved: number;
}

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/**
 * THE sweeper hook: one pass of the reaper's real orphan sweeper (services/reaper/core/orphan-sweep.ts
 * over gRPC, grace 0: the clients are done, every row that will come has come), then waits for
 * storage's temp sweep (the chaos stacks run it every second with a 1 s grace, CHAOS_STORAGE_ENV)
 * to take the temp files of killed writes, then counts what is left under the given sessions.
 */
/** What the sweep needs of a stack (the services' addresses, the database, the media folder). */
export type SweepTarget = Pick<Stack, "storageAddr" | "metadataAddr" | "storageMetricsUrl" | "mediaDir"> & { db: { url: string } };

export async function sweepOrphans(stack: SweepTarget, sessionIds: string[], store: BlobStoreView = fsStoreView(stack.mediaDir)): Promise<OrphanReport> {
  const storage = internalClient(StorageServiceClient, stack.storageAddr, TEST_INTERNAL_TOKEN);
  const metadata = internalClient(MetadataServiceClient, stack.metadataAddr, TEST_INTERNAL_TOKEN);
  let removed = 0;
  try {
    const r = await runSweep(grpcOrphanPorts(storage, metadata, { callTimeoutMs: 10_000 }), { graceMs: 0, pageSize: 500, dryRun: false }, new AbortController().signal);
    removed = r.stats.removed.audio + r.stats.removed.frame;
  } finally {
    storage.close();
    metadata.close();
  }
  const mine = async () => (await store.list()).filter((k) => sessionIds.some((s) => k.startsWith(`${s}/`)));
  const isTemp = (k: string) => /\/\.[^/]+\.tmp$/.test(k);
  for (let i = 0; i < 50 && (await mine()).some(isTemp); i++) await Bun.sleep(100);
  const rows = await rowsOf(stack.db.url, sessionIds);
  const rowKeys = new Set(rows.map((r) => blobKeyOf(r.sessionId, r.kind, r.index)));
  // A sealed session's manifest is named by its session row (manifest_sha256), not by a blob row.
  for (const sid of await sealedSessions(stack.db.url, sessionIds)) rowKeys.add(`${sid}/manifest.json`);
  const left = await mine();
  return {
    blobs: left.filter((k) => !isTemp(k) && !rowKeys.has(k)),
    temps: left.filter(isTemp),
    removed,
    tempsRemoved: await counter(stack.storageMetricsUrl, "candid_storage_temp_files_removed_total"),
  };
}

/** Storage settings of every chaos stack: the temp sweep runs every second with a 1 s grace. */
export const CHAOS_STORAGE_ENV = { STORAGE_TEMP_GRACE_MS: "1000", STORAGE_TEMP_SWEEP_INTERVAL_MS: "1000" };

export interface CaseCounts {
  sent: number;
  acked: number;
  lost: number;
  storedOnce: number;
  shaMismatch: number;
  rowsWithoutBlob: number;
  /** orphans left after the sweep (must be 0) */
  orphans: number;
  /** blobs without a row the sweeper removed, temp files storage's temp sweep removed */
  orphansSwept: number;
  tempsSwept: number;
  /** reconnects and item errors the clients went through (0: the fault never touched them) */
  disruptions: number;
  /** details for a failing case */
  problems: string[];
}

export async function verifyCase(stack: SweepTarget, clients: ChaosClient[], store: BlobStoreView = fsStoreView(stack.mediaDir)): Promise<CaseCounts> {
  const sessionIds = clients.map((c) => c.sessionId);
  // The sweeper runs first, so a blob it wrongly deleted shows up below as lost.
  const orphans = await sweepOrphans(stack, sessionIds, store);
  const rows = await rowsOf(stack.db.url, sessionIds);
  const byItem = new Map<string, Row[]>();
  for (const r of rows) {
    const k = blobKeyOf(r.sessionId, r.kind, r.index);
    byItem.set(k, [...(byItem.get(k) ?? []), r]);
  }
  const keys = new Set(await store.list());
  const problems: string[] = [];
  let sent = 0;
  let acked = 0;
  let lost = 0;
  let storedOnce = 0;
  let shaMismatch = 0;
  for (const c of clients) {
    for (const [itemKey, item] of c.sent) {
      sent++;
      const wasAcked = c.acked.has(itemKey);
      if (wasAcked) acked++;
      const k = blobKeyOf(c.sessionId, item.kind, item.index);
      const its = byItem.get(k) ?? [];
      const blobSha = keys.has(k) ? await store.sha256(k) : null;
      const rowShaOk = its.length > 0 && its.every((r) => r.sha256 === item.sha256);
      const blobShaOk = blobSha === item.sha256;
      if ((its.length > 0 && !rowShaOk) || (blobSha !== null && !blobShaOk)) {
        shaMismatch++;
        problems.push(`${k}: sha mismatch (rows ${its.map((r) => r.sha256.slice(0, 8))}, blob ${blobSha?.slice(0, 8)}, sent ${item.sha256.slice(0, 8)})`);
      }
      const ok = its.length === 1 && rowShaOk && blobShaOk && its[0]!.filePath.endsWith(k);
      if (ok) storedOnce++;
      else problems.push(`${k}: ${its.length} rows, blob ${blobSha ? "present" : "missing"}${wasAcked ? " (acked)" : ""}`);
      if (wasAcked && !ok) lost++;
    }
    for (const d of c.dropped) problems.push(`${c.sessionId} ${d.key}: refused with ${d.code}`);
    if (!c.complete) problems.push(`${c.sessionId}: no session_complete_ack`);
    else if (c.complete.missing_chunks_count !== 0 || c.complete.missing_frames_count !== 0) {
      problems.push(`${c.sessionId}: session_complete_ack reports missing ${JSON.stringify(c.complete)}`);
    }
  }
  let rowsWithoutBlob = 0;
  for (const r of rows) {
    const k = blobKeyOf(r.sessionId, r.kind, r.index);
    if (!keys.has(k)) {
      rowsWithoutBlob++;
      problems.push(`${k}: row without blob`);
    }
  }
  for (const k of [...orphans.blobs, ...orphans.temps]) problems.push(`${k}: orphan left after the sweep`);
  return { sent, acked, lost, storedOnce, shaMismatch, rowsWithoutBlob, orphans: orphans.blobs.length + orphans.temps.length, orphansSwept: orphans.removed, tempsSwept: orphans.tempsRemoved, disruptions: 0, problems };
}

/** The one line a case prints. */
export function countsLine(name: string, c: CaseCounts): string {
  return `chaos ${name}: sent=${c.sent} acked=${c.acked} lost=${c.lost} stored_once=${c.storedOnce} sha_mismatch=${c.shaMismatch} rows_without_blob=${c.rowsWithoutBlob} orphans_swept=${c.orphansSwept} temps_swept=${c.tempsSwept} orphans_left=${c.orphans}`;
}
