/**
 * @module stack
 * The real backend for end-to-end tests and benchmarks: metadata (a fresh PostgreSQL database),
 * storage (a temp folder on local disk) and gateway, each its own process, talking real gRPC.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateSecret, operatorApi, type OperatorApi } from "./operator-api";
import { createTestDatabase, type TestDatabase } from "./postgres";
import { freePort, grpcReady, httpOk, REPO_ROOT, type ServiceProc, startService } from "./procs";

export interface Stack {
  gatewayUrl: string;
  wsUrl: string;
  mediaDir: string;
  /** The operator API with the gateway's API key (create interviews, mint tokens, read status). */
  api: OperatorApi;
  /** The secrets the gateway was started with (CANDID_API_KEYS, CANDID_TOKEN_SECRETS). */
  apiKey: string;
  tokenSecret: string;
  /** /metrics of the gateway (its ops port), the storage and the metadata services. */
  gatewayMetricsUrl: string;
  /** gRPC addresses of the storage and metadata services (internal token: TEST_INTERNAL_TOKEN). */
  storageAddr: string;
  metadataAddr: string;
  storageMetricsUrl: string;
  metadataMetricsUrl: string;
  db: TestDatabase;
  gateway: ServiceProc;
  storage: ServiceProc;
  metadata: ServiceProc;
  /** Kills the gateway and starts a new one on the same port. */
  restartGateway(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the storage service and starts a new one on the same ports, folder and backend. */
  restartStorage(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the metadata service and starts a new one on the same ports and database. */
  restartMetadata(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  gatewayEnv?: Record<string, string>;
  logLevel?: string;
  /** Folder that receives the storage root (default: the OS temp folder). */
  mediaParent?: string;
  /**
   * The storage root itself (MEDIA_STORAGE_DIR), e.g. a small tmpfs of the caller's: used as is,
   * neither created nor removed by the stack (mediaParent and keepMedia do not apply).
   */
  mediaDir?: string;
  /** Leave the stored files in place on stop (benchmarks; see docs/benchmarks.md). */
  keepMedia?: boolean;
  /** Extra storage env, over STORAGE_BACKEND=fs (e.g. STORAGE_BACKEND=s3 and its S3_* settings, STORAGE_VOLUME_SAMPLE_MS). */
  storageEnv?: Record<string, string>;
  /** Admin URL of the PostgreSQL server for the stack's database (default: TEST_DATABASE_ADMIN_URL). */
  databaseAdminUrl?: string;
  /** Extra metadata env. */
  metadataEnv?: Record<string, string>;
  /**
   * gRPC between the services over Unix domain sockets (`unix:` addresses in a temp folder of
   * the stack's) instead of TCP on 127.0.0.1: the setting for services that share a host.
   */
  unixSockets?: boolean;
  /** The checkout whose services/ are started (default: this one; benchmarks compare commits). */
  root?: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const db = await createTestDatabase("candid_stack", opts.databaseAdminUrl);
  const mediaDir = opts.mediaDir ?? mkdtempSync(join(opts.mediaParent ?? tmpdir(), "candid-media-"));
  const sockDir = opts.unixSockets ? mkdtempSync(join(tmpdir(), "candid-sock-")) : undefined;
  const removeMedia = () => {
    if (sockDir) rmSync(sockDir, { recursive: true, force: true });
    if (!opts.keepMedia && opts.mediaDir === undefined) rmSync(mediaDir, { recursive: true, force: true });
  };
  const [gp, go, sp, sm, mp, mm] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const apiKey = generateSecret();
  const tokenSecret = generateSecret();
  const logLevel = opts.logLevel ?? "warn";
  const started: ServiceProc[] = [];
  const storageAddr = sockDir ? `unix:${join(sockDir, "storage.sock")}` : `127.0.0.1:${sp}`;
  const metadataAddr = sockDir ? `unix:${join(sockDir, "metadata.sock")}` : `127.0.0.1:${mp}`;
  const entry = (service: string) => resolve(opts.root ?? REPO_ROOT, `services/${service}/main.ts`);
  try {
    const startMetadata = () =>
      startService({
        name: "metadata",
        entry: entry("metadata"),
        env: { DATABASE_URL: db.url, METADATA_GRPC_ADDR: metadataAddr, METADATA_METRICS_PORT: String(mm), LOG_LEVEL: logLevel, ...opts.metadataEnv },
        ready: () => grpcReady(metadataAddr),
      });
    const startStorage = () =>
      startService({
        name: "storage",
        entry: entry("storage"),
        env: {
          STORAGE_BACKEND: "fs",
          MEDIA_STORAGE_DIR: mediaDir,
          STORAGE_GRPC_ADDR: storageAddr,
          STORAGE_METRICS_PORT: String(sm),
          LOG_LEVEL: logLevel,
          ...opts.storageEnv,
        },
        ready: () => grpcReady(storageAddr),
      });
    const [metadata, storage] = await Promise.all([startMetadata(), startStorage()]);
    started.push(metadata, storage);
    const gatewayEnv = {
      GATEWAY_PORT: String(gp),
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_OPS_PORT: String(go),
      GATEWAY_OPS_HOST: "127.0.0.1",
      CANDID_API_KEYS: apiKey,
      CANDID_TOKEN_SECRETS: tokenSecret,
      STORAGE_ADDR: storageAddr,
      METADATA_ADDR: metadataAddr,
      LOG_LEVEL: logLevel,
      ...opts.gatewayEnv,
    };
    const startGateway = () =>
      startService({ name: "gateway", entry: entry("gateway"), env: gatewayEnv, ready: () => httpOk(`http://127.0.0.1:${gp}/readyz`) });
    const stack: Stack = {
      gatewayUrl: `http://127.0.0.1:${gp}`,
      wsUrl: `ws://127.0.0.1:${gp}/ws/media-stream`,
      mediaDir,
      api: operatorApi(`http://127.0.0.1:${gp}`, apiKey),
      apiKey,
      tokenSecret,
      gatewayMetricsUrl: `http://127.0.0.1:${go}/metrics`,
      storageAddr,
      metadataAddr,
      storageMetricsUrl: `http://127.0.0.1:${sm}/metrics`,
      metadataMetricsUrl: `http://127.0.0.1:${mm}/metrics`,
      db,
      gateway: await startGateway(),
      storage,
      metadata,
      async restartGateway(signal = "SIGKILL") {
        await stack.gateway.stop(signal);
        stack.gateway = await startGateway();
      },
      async restartStorage(signal = "SIGKILL") {
        await stack.storage.stop(signal);
        stack.storage = await startStorage();
      },
      async restartMetadata(signal = "SIGKILL") {
        await stack.metadata.stop(signal);
        stack.metadata = await startMetadata();
      },
      async stop() {
        await stack.gateway.stop();
        await Promise.all([stack.storage.stop(), stack.metadata.stop()]);
        await db.drop();
        removeMedia();
      },
    };
    return stack;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop("SIGKILL")));
    await db.drop().catch(() => {});
    removeMedia();
    throw err;
  }
}
