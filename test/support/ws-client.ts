/**
 * @module ws-client
 * A protocol-level WebSocket client for tests and benchmarks: sends the specification's messages
 * and waits for specific answers. Every session_init needs an upload token (test/support/
 * operator-api.ts mints them).
 */
import { type BlobKind, encodeBinaryFrame, type ServerMessage } from "../../proto/wire";

export class TestClient {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<{ pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string) as ServerMessage;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const w of this.closeWaiters) w(this.closed);
    };
  }

  /** Opens a connection; `headers` (Bun's WebSocket option) e.g. sets an Origin as a browser would. */
  static async connect(url: string, opts: { headers?: Record<string, string> } = {}): Promise<TestClient> {
    const ws = opts.headers ? new WebSocket(url, { headers: opts.headers } as unknown as string[]) : new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return new TestClient(ws);
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  sendBlob(sessionId: string, kind: BlobKind, index: number, blob: Uint8Array): void {
    this.ws.send(encodeBinaryFrame(sessionId, kind, index, blob));
  }

  /** The first message (already received or future) matching pred. */
  next(pred: (m: ServerMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<ServerMessage> {
    const have = this.messages.slice(from).find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  /** Waits for the next message after those already received. */
  reply(timeoutMs = 10_000): Promise<ServerMessage> {
    const n = this.messages.length;
    return this.next(() => true, timeoutMs, n);
  }

  waitClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("not closed")), timeoutMs);
      this.closeWaiters.push((c) => (clearTimeout(t), resolve(c)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Smallest byte strings that pass the gateway's content sniffing (proto/wire/sniff.ts), padded to
 * `size` with seed-dependent bytes: a WebM EBML header (DocType "webm") and a Segment of unknown
 * size; a JPEG of SOI, a frame header, a scan header, scan bytes and EOI. Not decodable media.
 */
const WEBM_PREFIX = [
  0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d, // EBML { DocType "webm" }
  0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Segment, unknown size
];
const JPEG_PREFIX = [
  0xff, 0xd8, // SOI
  0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00, // SOF0, 16x16, 1 component
  0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, // SOS, 1 component
];

export function fakeWebm(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  b.set(WEBM_PREFIX.slice(0, size), 0);
  return b;
}

export function fakeJpeg(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 17 + seed * 13) & 0x7f; // scan bytes: no 0xFF
  b.set(JPEG_PREFIX.slice(0, size), 0);
  if (size >= JPEG_PREFIX.length + 3) b.set([0xff, 0xd9], size - 2); // EOI
  return b;
}
