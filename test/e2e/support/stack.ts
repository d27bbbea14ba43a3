/**
 * @module stack
 * Starts Candid the way a person does — `npm start`, i.e. `bun services/launcher/main.ts` — on
 * free ports with temporary data folders, and offers what the e2e tests need: the URLs, the media
 * folder, the gateway's pid (from the launcher's "child started" log lines) to kill it, and
 * the status endpoint.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { freePort, httpOk, REPO_ROOT } from '../../support/procs.ts';

export interface Stack {
  gatewayUrl: string;
  /** What the launcher generated on its first run (data/secrets.json in the stack's folder). */
  secrets(): { apiKeys: string; tokenSecrets: string; internalToken: string };
  /** The operator API key the launcher generated (the first of CANDID_API_KEYS): status reads use it. */
  readonly apiKey: string;
  webUrl: string;
  mediaDir: string;
  /** gRPC addresses of storage and metadata, storage's /metrics (for checks straight from the sources). */
  storageAddr: string;
  metadataAddr: string;
  storageMetricsUrl: string;
  logs(): Array<Record<string, unknown>>;
  output(): string;
  gatewayPids(): number[];
  killGateway(): Promise<number>;
  waitGatewayRestart(afterPid: number, timeoutMs?: number): Promise<number>;
  status(sessionId: string): Promise<SessionStatus | null>;
  stop(): Promise<void>;
}

export interface SessionStatus {
  session_id: string;
  status: string;
  total_chunks: number;
  total_frames: number;
  is_connected: boolean;
}

export interface E2eStackOptions {
  /**
   * Extra launcher environment, over the stack's own (e.g. PUBLIC_GATEWAY_URL pointing the page at
   * a fault proxy, DATABASE_URL for a PostgreSQL database, STORAGE_* settings, CANDID_INTERNAL_TOKEN).
   */
  env?: Record<string, string>;
}

export async function startStack(opts: E2eStackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'candid-e2e-'));
  const [gw, web, sg, mg, sm, mm, rm, go, pm, tp, to] = await Promise.all(Array.from({ length: 11 }, freePort));
  const mediaDir = join(dir, 'media');
  // Without the secrets in its environment the launcher makes them, as on a fresh clone.
  const {
    CANDID_API_KEYS: _k,
    CANDID_TOKEN_SECRETS: _s,
    CANDID_INTERNAL_TOKEN: _t,
    PUBLIC_GATEWAY_URL: _p,
    CORS_ALLOWED_ORIGINS: _c,
    ...inherited
  } = process.env as Record<string, string>;
  const secretsFile = join(dir, 'data', 'secrets.json');
  const env: Record<string, string> = {
    ...inherited,
    CANDID_SECRETS_FILE: secretsFile,
    GATEWAY_PORT: String(gw),
    WEB_PORT: String(web),
    WEB_HOST: '127.0.0.1',
    // No PUBLIC_GATEWAY_URL / CORS_ALLOWED_ORIGINS: the launcher derives them from the ports, as under `npm start`.
    MEDIA_STORAGE_DIR: mediaDir,
    PGLITE_DATA_DIR: join(dir, 'pglite'),
    STORAGE_GRPC_ADDR: `127.0.0.1:${sg}`,
    METADATA_GRPC_ADDR: `127.0.0.1:${mg}`,
    STORAGE_METRICS_PORT: String(sm),
    METADATA_METRICS_PORT: String(mm),
    REAPER_METRICS_PORT: String(rm),
    GATEWAY_OPS_PORT: String(go),
    PROCESSOR_METRICS_PORT: String(pm),
    TRANSCRIBER_PORT: String(tp),
    TRANSCRIBER_OPS_PORT: String(to),
    // Transcription is opted into by the tests that check it (analysis-browser.e2e.test.ts).
    CANDID_TRANSCRIPTION: '0',
    ...opts.env,
  };
  const chunks: string[] = [];
  const echo = process.env.CANDID_TEST_ECHO === '1';
  const proc: Subprocess = Bun.spawn([process.execPath, 'services/launcher/main.ts'], { cwd: REPO_ROOT, env, stdout: 'pipe', stderr: 'pipe' });
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    const reader = s.getReader();
    for (;;) {
      const { value: c, done } = await reader.read();
      if (done) break;
      const t = dec.decode(c, { stream: true });
      chunks.push(t);
      if (echo) process.stderr.write(t.replace(/^/gm, '[stack] '));
    }
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const output = () => chunks.join('');
  const logs = () =>
    output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const gatewayPids = () => logs().filter((l) => l.msg === 'child started' && l.child === 'gateway').map((l) => Number(l.pid));
  const gatewayUrl = `http://127.0.0.1:${gw}`;
  const webUrl = `http://127.0.0.1:${web}`;

  const stack: Stack = {
    gatewayUrl,
    get apiKey() {
      return stack.secrets().apiKeys.split(',')[0]!.trim();
    },
    webUrl,
    mediaDir,
    storageAddr: `127.0.0.1:${sg}`,
    metadataAddr: `127.0.0.1:${mg}`,
    storageMetricsUrl: `http://127.0.0.1:${sm}/metrics`,
    secrets() {
      const s = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
      return { apiKeys: s.CANDID_API_KEYS!, tokenSecrets: s.CANDID_TOKEN_SECRETS!, internalToken: s.CANDID_INTERNAL_TOKEN! };
    },
    logs,
    output,
    gatewayPids,
    async killGateway() {
      const pid = gatewayPids().at(-1);
      if (!pid) throw new Error('no gateway pid in launcher logs');
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    async waitGatewayRestart(afterPid, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const pid = gatewayPids().at(-1);
        if (pid && pid !== afterPid && (await httpOk(`${gatewayUrl}/readyz`))) return pid;
        await Bun.sleep(100);
      }
      throw new Error(`gateway not restarted within ${timeoutMs} ms\n${output().slice(-3000)}`);
    },
    async status(sessionId) {
      // An operator's read: the status route needs a bearer (an API key, or the session's own token).
      const r = await fetch(`${gatewayUrl}/sessions/${sessionId}/status`, { headers: { authorization: `Bearer ${stack.apiKey}` } }).catch(() => null);
      if (!r || !r.ok) return null;
      return (await r.json()) as SessionStatus;
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await proc.exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 240_000; // the first start may build the web app
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`launcher exited with ${proc.exitCode}:\n${output()}`);
    if ((await httpOk(`${gatewayUrl}/readyz`)) && (await httpOk(webUrl))) return stack;
    await Bun.sleep(250);
  }
  await stack.stop();
  throw new Error(`stack not ready:\n${output().slice(-5000)}`);
}

/** Stored files of a session: { audio: ['chunk_0.webm', …], frames: ['frame_0.jpg', …] } sorted by index. */
export function storedFiles(mediaDir: string, sessionId: string): { audio: string[]; frames: string[] } {
  const list = (sub: string, re: RegExp) => {
    try {
      return readdirSync(join(mediaDir, sessionId, sub))
        .filter((f) => re.test(f))
        .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
    } catch {
      return [];
    }
  };
  return { audio: list('audio', /^chunk_\d+\.(webm|mp4)$/), frames: list('frames', /^frame_\d+\.jpg$/) };
}
