/**
 * @module fleet
 * Candid as a small fleet, each service its own process, for the fleet test: `gateways` gateways,
 * two storage services on one S3 bucket (a real S3-compatible server), two metadata services and
 * two reapers on one PostgreSQL database. Gateway i talks to storage i % 2 and metadata i % 2, so
 * a session moving between gateways also moves between storage and metadata replicas. Every
 * gateway has the same API key and token secrets (a token minted through one works on all).
 */
import { generateSecret, operatorApi, type OperatorApi } from "./operator-api";
import { createTestDatabase, type TestDatabase } from "./postgres";
import { freePort, grpcReady, httpOk, type ServiceProc, startService } from "./procs";
import type { TestS3 } from "./s3";

export interface FleetGateway {
  name: string;
  url: string;
  wsUrl: string;
  metricsUrl: string;
  api: OperatorApi;
  proc: ServiceProc;
  /** False from a stop until the restarted process is ready. */
  up: boolean;
}

export interface Fleet {
  db: TestDatabase;
  bucket: string;
  gateways: FleetGateway[];
  storage: Array<{ addr: string; metricsUrl: string; proc: ServiceProc }>;
  metadata: Array<{ addr: string; metricsUrl: string; proc: ServiceProc }>;
  reapers: ServiceProc[];
  apiKey: string;
  /** Stops gateway `i` with `signal` (SIGTERM: a rolling restart's drain; SIGKILL) and starts a new process on its ports. */
  restartGateway(i: number, signal: NodeJS.Signals, whileDown?: () => Promise<void>): Promise<{ exitCode: number | null }>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  s3: TestS3;
  gateways?: number;
  logLevel?: string;
  gatewayEnv?: Record<string, string>;
  reaperEnv?: Record<string, string>;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const db = await createTestDatabase("candid_fleet");
  const bucket = await o.s3.createBucket();
  const logLevel = o.logLevel ?? "warn";
  const apiKey = generateSecret();
  const tokenSecret = generateSecret();
  const started: ServiceProc[] = [];
  const s3Env = {
    STORAGE_BACKEND: "s3",
    S3_BUCKET: bucket,
    S3_ENDPOINT: o.s3.endpoint,
    S3_REGION: o.s3.region,
    S3_ACCESS_KEY_ID: o.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: o.s3.secretAccessKey,
  };
  try {
    const metadata = await Promise.all(
      [0, 1].map(async (i) => {
        const [grpc, metrics] = [await freePort(), await freePort()];
        const addr = `127.0.0.1:${grpc}`;
        const proc = await startService({
          name: `metadata-${i}`,
          entry: "services/metadata/main.ts",
          env: { DATABASE_URL: db.url, METADATA_GRPC_ADDR: addr, METADATA_METRICS_PORT: String(metrics), LOG_LEVEL: logLevel },
          ready: () => grpcReady(addr),
        });
        started.push(proc);
        return { addr, metricsUrl: `http://127.0.0.1:${metrics}/metrics`, proc };
      }),
    );
    const storage = await Promise.all(
      [0, 1].map(async (i) => {
        const [grpc, metrics] = [await freePort(), await freePort()];
        const addr = `127.0.0.1:${grpc}`;
        const proc = await startService({
          name: `storage-${i}`,
          entry: "services/storage/main.ts",
          env: { ...s3Env, STORAGE_GRPC_ADDR: addr, STORAGE_METRICS_PORT: String(metrics), LOG_LEVEL: logLevel },
          ready: () => grpcReady(addr),
        });
        started.push(proc);
        return { addr, metricsUrl: `http://127.0.0.1:${metrics}/metrics`, proc };
      }),
    );
    const reapers = await Promise.all(
      [0, 1].map(async (i) => {
        const metrics = await freePort();
        const proc = await startService({
          name: `reaper-${i}`,
          entry: "services/reaper/main.ts",
          env: {
            METADATA_ADDR: metadata[i]!.addr,
            STORAGE_ADDR: storage[i]!.addr,
            REAPER_HOST: "127.0.0.1",
            REAPER_METRICS_PORT: String(metrics),
            LOG_LEVEL: logLevel,
            ...o.reaperEnv,
          },
          ready: () => httpOk(`http://127.0.0.1:${metrics}/readyz`),
        });
        started.push(proc);
        return proc;
      }),
    );
    const gateways: FleetGateway[] = [];
    const envs: Array<{ env: Record<string, string>; port: number }> = [];
    for (let i = 0; i < (o.gateways ?? 2); i++) {
      const [port, ops] = [await freePort(), await freePort()];
      envs.push({
        port,
        env: {
          GATEWAY_PORT: String(port),
          GATEWAY_HOST: "127.0.0.1",
          GATEWAY_OPS_PORT: String(ops),
          GATEWAY_OPS_HOST: "127.0.0.1",
          CANDID_API_KEYS: apiKey,
          CANDID_TOKEN_SECRETS: tokenSecret,
          STORAGE_ADDR: storage[i % 2]!.addr,
          METADATA_ADDR: metadata[i % 2]!.addr,
          LOG_LEVEL: logLevel,
          ...o.gatewayEnv,
        },
      });
      const url = `http://127.0.0.1:${port}`;
      gateways.push({
        name: `gateway-${i}`,
        url,
        wsUrl: `ws://127.0.0.1:${port}/ws/media-stream`,
        metricsUrl: `http://127.0.0.1:${ops}/metrics`,
        api: operatorApi(url, apiKey),
        proc: null as unknown as ServiceProc,
        up: false,
      });
    }
    const startGateway = async (i: number) => {
      const g = gateways[i]!;
      g.proc = await startService({ name: g.name, entry: "services/gateway/main.ts", env: envs[i]!.env, ready: () => httpOk(`${g.url}/readyz`) });
      g.up = true;
    };
    await Promise.all(gateways.map((_, i) => startGateway(i)));
    const fleet: Fleet = {
      db,
      bucket,
      gateways,
      storage,
      metadata,
      reapers,
      apiKey,
      async restartGateway(i, signal, whileDown) {
        const g = gateways[i]!;
        g.up = false;
        const exitCode = await g.proc.stop(signal);
        await whileDown?.();
        await startGateway(i);
        return { exitCode };
      },
      async stop() {
        await Promise.all(gateways.map((g) => g.proc?.stop("SIGKILL")));
        await Promise.all([...reapers, ...storage.map((s) => s.proc), ...metadata.map((m) => m.proc)].map((p) => p.stop("SIGKILL")));
        await o.s3.deleteBucket(bucket).catch(() => {});
        await db.drop();
      },
    };
    return fleet;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop("SIGKILL")));
    await o.s3.deleteBucket(bucket).catch(() => {});
    await db.drop().catch(() => {});
    throw err;
  }
}
