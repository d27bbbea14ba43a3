/**
 * @module stream-session
 * The per-connection state machine of the media WebSocket, free of Bun and gRPC.
 *
 *   new ──session_init ok──▶ ready ──session_complete──▶ ready (completed: no more media)
 *    │                         │
 *    └─ media before init ─────┴─ malformed header / invalid session id ──▶ closed (4xxx)
 *
 * Text messages are handled one at a time, in arrival order, so metadata sent right after
 * session_init waits for the init to finish. Blobs are validated in that same order, then stored
 * concurrently (at most `maxInFlight` per connection); each ack is sent only after the blob is
 * durable and its row committed, so acks may come out of order. One bad message gets an error
 * and changes nothing; only traffic that makes the stream meaningless closes the connection.
 *
 * Access (issue 14): session_init must carry an upload token. It is verified (deps.verifyToken)
 * before the gateway does anything else with the init; then authorize.ts decides with the
 * session's current owner (metadata status; none for a new id), then the per-token session limit
 * (SessionsPerToken, released when the connection goes), and only then is the session opened,
 * with the token's interview and user. A refusal (TOKEN_INVALID / FORBIDDEN 4403,
 * TOO_MANY_SESSIONS 4431) closes the connection and stores nothing (no OpenSession call).
 *
 * Resume (issue 9): the session_init_ack of a session that already existed carries `stored`, the
 * index ranges the metadata service holds for it (bounded: limits.ts renderStored), so a client
 * whose acks were lost in flight does not upload those items again. A new session's ack, and the
 * ack of a repeated init on the same connection, are the seed's three fields only.
 *
 * Leases (issue 10): the session's OpenSession takes its lease in metadata under a new epoch,
 * claimed in the registry (registry.ts); every record and the complete carry that epoch, and an
 * answer SESSION_TAKEN_OVER (another connection, on any replica, holds it now) closes this one
 * 4409, as does the registry when a renewal says the lease moved on. At a rolling restart
 * (`restart`) the connection closes 1012 after what was already said.
 *
 * session_complete is answered once per connection by the metadata service; a repeat with the
 * same totals is answered from that first answer (no call), a repeat with other totals is refused
 * (SESSION_COMPLETED). Missing lists are bounded (limits.ts renderMissing: at most 1,000 indices
 * each, plus exact counts), so one message cannot ask for a megabyte of answer, nor repeat it.
 */
import {
  type AudioMetadata,
  type CaptureEvent,
  CLOSES,
  type BlobKind,
  decodeBinaryFrame,
  type FrameMetadata,
  indexField,
  isJpeg,
  isoToMs,
  parseClientMessage,
  type ProtocolLimits,
  type ServerMessage,
  type SessionComplete,
  type SessionCompleteAck,
  type SessionInit,
  sniffAudio,
  WireError,
} from "../../../proto/wire";
import { AppError, toAppError, toCloseFrame, toErrorMessage } from "../../shared/errors";
import { authorizeSessionInit, type SessionOwner } from "./authorize";
import { ingest, type IngestItem } from "./ingest";
import { ByteBudget, type Lease, renderMissing, renderStored, type SessionsPerToken } from "./limits";
import { PendingMetadata } from "./pending";
import type { WriteOutcome } from "../../shared/blob";
import type { MetadataService, SessionSummary, StorageService } from "./ports";
import type { Owner, SessionRegistry } from "./registry";
import type { UploadTokenClaims } from "./tokens";

/** The protocol's limits (named in proto/wire/limits.ts), plus how many blobs one connection stores at once. */
export interface Limits extends ProtocolLimits {
  /** Blobs being stored at once, per connection. */
  maxInFlight: number;
}

export interface SessionEvents {
  /** A blob was acked; latencyMs runs from its arrival to the ack. */
  acked(kind: BlobKind, bytes: number, latencyMs: number, outcome: WriteOutcome): void;
  /** An error was reported to the client (or closed the connection); `reason` is the AppError's log-only reason, if any. */
  rejected(code: string, reason?: string): void;
  /** An unexpected failure: log it (the client only sees INTERNAL). */
  internal(err: unknown, context: Record<string, unknown>): void;
  opened(sessionId: string, resumed: boolean): void;
  completed(sessionId: string, missing: number): void;
}

export interface SessionDeps {
  storage: StorageService;
  metadata: MetadataService;
  registry: SessionRegistry;
  /**
   * Verifies a session_init's upload token (tokens.ts verifyUploadToken over the gateway's keys);
   * throws AppError TOKEN_INVALID (with its reason) for a missing or bad one.
   */
  verifyToken: (token: string | null) => Promise<UploadTokenClaims>;
  /** Media sessions open at once per token: one instance per gateway. */
  sessionsPerToken: SessionsPerToken;
  limits: Limits;
  events: SessionEvents;
  now: () => number;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256Hex: (data: Uint8Array) => string;
  send: (msg: ServerMessage) => void;
  /**
   * Seals a completed session (core/review.ts: its manifest stored beside the media, its hash in
   * metadata) before session_complete is acked; never throws (a failed seal is logged, and the
   * manifest route seals later from what is stored).
   */
  seal?: (session: SessionSummary, announced: { chunks: number; frames: number }) => Promise<void>;
  close: (code: number, reason: string) => void;
  /** The gateway-wide budget (GATEWAY_MAX_TOTAL_BUFFERED_BYTES) this connection's buffered bytes draw on. */
  totalBuffered?: ByteBudget;
}

type Announced = { kind: "audio"; msg: AudioMetadata } | { kind: "frame"; msg: FrameMetadata };

export class StreamSession implements Owner {
  private state: "new" | "ready" | "closed" = "new";
  private id: string | null = null;
  /** The session's lease epoch this connection holds (OpenSession's answer); every row carries it. */
  private epoch = 0;
  private completed = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  /** Bytes of blobs and text messages received and not yet acked, refused or handled. */
  private readonly buffered: ByteBudget;
  private readonly pending: PendingMetadata<Announced>;
  /** This connection's slot under its token's session limit. */
  private lease: Lease | null = null;
  /** The first session_complete's answer, and the totals it was asked with. */
  private completeAnswer: { ack: SessionCompleteAck; totalChunks: number; totalFrames: number } | null = null;

  constructor(private readonly deps: SessionDeps) {
    this.pending = new PendingMetadata(deps.limits.maxPending, deps.limits.pendingTtlMs, deps.now);
    this.buffered = new ByteBudget(deps.limits.maxBufferedBytes, deps.totalBuffered ?? null);
  }

  get sessionId(): string | null {
    return this.id;
  }

  /**
   * Queues a text frame; the promise settles once it has been handled (not stored). Its `bytes`
   * (the adapter passes its UTF-8 length) count toward the buffered-bytes budget until then: a
   * text flood queued behind a slow message is bounded like blobs are.
   */
  receiveText(text: string, bytes = text.length): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    if (!this.reserve(bytes)) return Promise.resolve();
    return this.enqueue(() => this.onText(text)).finally(() => this.buffered.release(bytes));
  }

  /** Queues a binary frame; `receivedAt` is when it arrived (for the ack latency). */
  receiveBinary(buf: Uint8Array, receivedAt = this.deps.now()): Promise<void> {
    // WebSockets have no inbound flow control: a client that ignores acks would queue blobs here
    // without bound. Past maxBufferedBytes the connection is closed; a client keeping a send
    // window (the web client: 8 items / 2 MiB) never comes near it.
    const n = buf.byteLength;
    if (this.state === "closed") return Promise.resolve();
    if (!this.reserve(n)) return Promise.resolve();
    const release = () => this.buffered.release(n);
    let handled = false;
    return this.enqueue(async () => {
      handled = true;
      let started: { storing: Promise<void> } | void = undefined;
      try {
        started = await this.onBinary(buf, receivedAt);
      } finally {
        if (started) void started.storing.finally(release);
        else release();
      }
    }).finally(() => {
      // Closed while it waited in the queue (the handler never ran): give its bytes back, or the
      // gateway-wide budget would keep them for good.
      if (!handled) release();
    });
  }

  /** Reserves `n` buffered bytes, or closes the connection (4429) saying which budget is full. */
  private reserve(n: number): boolean {
    if (this.buffered.tryReserve(n)) return true;
    const full = this.buffered.wouldRefuse(n);
    this.fail(
      new AppError(
        "BUFFER_LIMIT_EXCEEDED",
        full === "gateway"
          ? "the gateway holds too many bytes not yet acked; reconnect later"
          : `more than ${this.deps.limits.maxBufferedBytes} bytes sent without waiting for acks`,
      ),
    );
    return false;
  }

  /** The socket closed. In-flight blobs still finish storing (their acks go nowhere). */
  disconnected(): void {
    if (this.id) this.deps.registry.release(this.id, this);
    this.lease?.release();
    this.lease = null;
    this.state = "closed";
    this.pending.clear();
  }

  /**
   * The gateway is restarting: close 1012 after what was already said (the acks sent so far go
   * out first); the lease is given up, and the client reconnects to another replica and resumes.
   */
  restart(): void {
    if (this.state === "closed") return;
    this.disconnected();
    this.deps.close(CLOSES.SERVICE_RESTART.code, CLOSES.SERVICE_RESTART.reason);
  }

  takenOver(): void {
    this.fail(new AppError("SESSION_TAKEN_OVER", "another connection continued this session"));
  }

  /** An upstream answer saying this connection no longer holds the session: close 4409 (else reject). */
  private refusedOrTakenOver(err: unknown, extra: Record<string, string | number> = {}): void {
    if (err instanceof AppError && err.code === "SESSION_TAKEN_OVER") return this.fail(err);
    this.reject(err, extra);
  }

  /** Resolves when every blob accepted so far has been stored or failed. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(() => (this.state === "closed" ? undefined : fn())).catch((err) => this.fail(err));
    this.queue = next;
    return next;
  }

  private async onText(text: string): Promise<void> {
    let msg;
    try {
      msg = parseClientMessage(text);
    } catch (err) {
      // A token that cannot be one is refused like a forged one (reason for the logs: malformed).
      if (err instanceof WireError && err.code === "TOKEN_INVALID") return this.fail(new AppError("TOKEN_INVALID", undefined, {}, { reason: "malformed" }));
      if (err instanceof WireError && err.code === "INVALID_SESSION_ID") return this.fail(err);
      return this.reject(err);
    }
    if (msg.type === "session_init") return this.onInit(msg);
    if (this.state !== "ready") return this.fail(new AppError("SESSION_NOT_INITIALIZED", `${msg.type} before session_init`));
    if (msg.session_id !== this.id) {
      return this.reject(new AppError("SESSION_MISMATCH", `message is for session ${msg.session_id}, this connection carries ${this.id}`, indexFields(msg)));
    }
    if (msg.type === "session_complete") return this.onComplete(msg);
    if (msg.type === "capture_event") return this.onCaptureEvent(msg);
    if (this.completed) return this.reject(new AppError("SESSION_COMPLETED", undefined, indexFields(msg)));
    const kind: BlobKind = msg.type === "audio_metadata" ? "audio" : "frame";
    const index = msg.type === "audio_metadata" ? msg.chunk_index : msg.frame_index;
    const limit = kind === "audio" ? this.deps.limits.maxAudioBytes : this.deps.limits.maxFrameBytes;
    if (msg.size > limit) return this.reject(new AppError("BLOB_TOO_LARGE", `size ${msg.size} exceeds the ${kind} limit of ${limit} bytes`, indexFields(msg)));
    const announced = (kind === "audio" ? { kind, msg } : { kind, msg }) as Announced;
    if (!this.pending.put(kind, index, announced)) {
      return this.reject(new AppError("TOO_MANY_PENDING", `more than ${this.deps.limits.maxPending} items announced without their blobs`, indexFields(msg)));
    }
  }

  private async onInit(msg: SessionInit): Promise<void> {
    if (this.state === "ready") {
      // This connection's token was checked when it opened the session.
      if (msg.session_id === this.id) return this.deps.send({ type: "session_init_ack", session_id: msg.session_id, status: "ready" });
      return this.reject(new AppError("SESSION_MISMATCH", "this connection already carries another session"));
    }
    let claims: UploadTokenClaims;
    try {
      claims = await this.deps.verifyToken(msg.token ?? null); // before anything else
    } catch (err) {
      return this.fail(err);
    }
    let existing: SessionOwner | null = null;
    try {
      existing = await this.deps.metadata.status(msg.session_id);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "SESSION_NOT_FOUND")) return this.reject(err);
    }
    let grant;
    try {
      grant = authorizeSessionInit(claims, msg, existing);
    } catch (err) {
      return this.fail(err);
    }
    const admission = this.deps.sessionsPerToken.tryAcquire(claims.jti, msg.session_id);
    if (!admission.ok) {
      return this.fail(new AppError("TOO_MANY_SESSIONS", `more than ${this.deps.sessionsPerToken.limit} media sessions are open under this upload token`, {}, { reason: "jti" }));
    }
    try {
      const { resumed, stored, ownerEpoch } = await this.deps.metadata.openSession({
        sessionId: msg.session_id,
        interviewSessionId: grant.interviewSessionId,
        userId: grant.userId,
        storagePath: `${msg.session_id}/`,
        ownerInstance: this.deps.registry.instanceId,
      });
      // The lease is ours now, whatever happens next: claim it (a previous local connection of
      // this session is closed 4409), and give it back at once if this socket went meanwhile.
      this.deps.registry.claim(msg.session_id, ownerEpoch, this);
      if (this.state === "closed") {
        this.deps.registry.release(msg.session_id, this);
        return admission.lease.release();
      }
      this.lease = admission.lease;
      this.id = msg.session_id;
      this.epoch = ownerEpoch;
      this.state = "ready";
      this.deps.events.opened(msg.session_id, resumed);
      // A resumed session says what it holds, so the client skips items whose acks it lost.
      this.deps.send({ type: "session_init_ack", session_id: msg.session_id, status: "ready", ...(resumed && stored ? renderStored(stored) : {}) });
    } catch (err) {
      admission.lease.release();
      // Created under another owner between the status read and the open: the metadata service
      // refused to hand it over (SESSION_MISMATCH); to this client it is someone else's session.
      if (err instanceof AppError && err.code === "SESSION_MISMATCH") return this.fail(new AppError("FORBIDDEN", undefined, { field: "session_id" }, { reason: "owner_mismatch" }));
      this.reject(err);
    }
  }

  /**
   * Validates and starts storing one blob; returns the storing task when it got that far. The task
   * is wrapped: an async function returning a bare promise would adopt it, and the session's queue
   * would wait for every blob to be stored before reading the next message.
   */
  private async onBinary(buf: Uint8Array, receivedAt: number): Promise<{ storing: Promise<void> } | void> {
    let frame;
    try {
      frame = decodeBinaryFrame(buf);
    } catch (err) {
      return this.fail(err);
    }
    if (this.state !== "ready") return this.fail(new AppError("SESSION_NOT_INITIALIZED", "blob before session_init"));
    const { kind, index, blob } = frame;
    const idx: Record<string, number> = indexField(kind, index);
    if (frame.sessionId !== this.id) return this.reject(new AppError("SESSION_MISMATCH", "binary header names another session", idx));
    if (this.completed) return this.reject(new AppError("SESSION_COMPLETED", undefined, idx));
    const announced = this.pending.get(kind, index);
    if (!announced) return this.reject(new AppError("METADATA_MISSING", `no ${kind === "audio" ? "audio_metadata" : "frame_metadata"} waiting for ${kind} ${index}`, idx));
    const limit = kind === "audio" ? this.deps.limits.maxAudioBytes : this.deps.limits.maxFrameBytes;
    if (blob.byteLength > limit) return this.reject(new AppError("BLOB_TOO_LARGE", `${blob.byteLength} bytes exceed the ${kind} limit of ${limit}`, idx));
    if (blob.byteLength !== announced.msg.size) {
      return this.reject(new AppError("SIZE_MISMATCH", `blob has ${blob.byteLength} bytes, metadata announced ${announced.msg.size}`, idx));
    }
    const mediaType = kind === "audio" ? sniffAudio(blob) : isJpeg(blob) ? "image/jpeg" : null;
    if (!mediaType) {
      return this.reject(new AppError("UNSUPPORTED_MEDIA_TYPE", kind === "audio" ? "audio must be WebM or MP4" : "frames must be JPEG", idx));
    }
    this.pending.delete(kind, index);
    while (this.inFlight.size >= this.deps.limits.maxInFlight) await Promise.race(this.inFlight);
    const ref = { sessionId: frame.sessionId, kind, index, mediaType };
    const base = { ref, data: blob, sha256Hex: this.deps.sha256Hex(blob), ownerEpoch: this.epoch };
    const item: IngestItem =
      announced.kind === "audio"
        ? { ...base, kind: "audio", timing: { startMs: isoToMs(announced.msg.start_timestamp), endMs: isoToMs(announced.msg.end_timestamp), durationMs: announced.msg.duration_ms } }
        : { ...base, kind: "frame", placement: { chunkIndex: announced.msg.chunk_index, timestampMs: isoToMs(announced.msg.timestamp), offsetMs: announced.msg.offset_ms } };
    const task = ingest(this.deps.storage, this.deps.metadata, item).then(
      (outcome) => {
        this.deps.events.acked(kind, blob.byteLength, this.deps.now() - receivedAt, outcome);
        this.deps.send(kind === "audio" ? { type: "audio_ack", chunk_index: index } : { type: "frame_ack", frame_index: index });
      },
      (err) => this.refusedOrTakenOver(err, idx),
    );
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return { storing: tracked };
  }

  /**
   * Stores a capture_event without holding up the connection's queue (like a blob's storing): the
   * ack follows the metadata's answer; same index and content again is acked again, other content
   * under a used index is refused INDEX_CONFLICT. Accepted after session_complete too: a page may
   * still be flushing what it noticed while recording.
   */
  private async onCaptureEvent(msg: CaptureEvent): Promise<void> {
    const idx = { event_index: msg.event_index };
    while (this.inFlight.size >= this.deps.limits.maxInFlight) await Promise.race(this.inFlight);
    const task = this.deps.metadata
      .recordCaptureEvent({
        sessionId: msg.session_id,
        eventIndex: msg.event_index,
        kind: msg.kind,
        phase: msg.phase,
        atMs: isoToMs(msg.at),
        detailJson: msg.detail ? JSON.stringify(msg.detail) : "",
        ownerEpoch: this.epoch,
      })
      .then(
        (outcome) => {
          if (outcome === "conflict") return this.reject(new AppError("INDEX_CONFLICT", "this event_index is already stored with other content", idx), idx);
          this.deps.send({ type: "capture_event_ack", session_id: msg.session_id, event_index: msg.event_index });
        },
        (err) => this.refusedOrTakenOver(err, idx),
      );
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async onComplete(msg: SessionComplete): Promise<void> {
    const previous = this.completeAnswer;
    if (previous) {
      if (previous.totalChunks === msg.total_chunks && previous.totalFrames === msg.total_frames) return this.deps.send(previous.ack);
      return this.reject(new AppError("SESSION_COMPLETED", "session_complete was already answered on this connection, with other totals"));
    }
    await this.drain();
    try {
      const r = await this.deps.metadata.completeSession({ sessionId: msg.session_id, totalChunks: msg.total_chunks, totalFrames: msg.total_frames, ownerEpoch: this.epoch });
      this.completed = true;
      this.deps.events.completed(msg.session_id, r.missingChunks.length + r.missingFrames.length);
      await this.deps.seal?.(r.session, { chunks: msg.total_chunks, frames: msg.total_frames });
      const ack: SessionCompleteAck = {
        type: "session_complete_ack",
        session_id: msg.session_id,
        status: "completed",
        total_chunks: r.session.totalChunks,
        total_frames: r.session.totalFrames,
        ...renderMissing(r.missingChunks, r.missingFrames),
      };
      this.completeAnswer = { ack, totalChunks: msg.total_chunks, totalFrames: msg.total_frames };
      this.deps.send(ack);
    } catch (err) {
      this.refusedOrTakenOver(err);
    }
  }

  /** Answers with an error message; the connection stays open. */
  private reject(err: unknown, extra: Record<string, string | number> = {}): void {
    const e = toAppError(err);
    if (e.code === "INTERNAL") this.deps.events.internal(e.cause ?? err, { sessionId: this.id, ...extra });
    this.deps.events.rejected(e.code, e.reason);
    if (this.state === "closed") return;
    this.deps.send(toErrorMessage(e, extra));
  }

  /** Reports the error, then closes the connection with its 4xxx code (from the error table). */
  private fail(err: unknown): void {
    const e = toAppError(err);
    const frame = toCloseFrame(e);
    if (!frame) return this.reject(e); // not a closing error after all
    this.deps.events.rejected(e.code, e.reason);
    if (this.state === "closed") return;
    this.deps.send(toErrorMessage(e));
    this.disconnected();
    this.deps.close(frame.code, frame.reason);
  }
}

function indexFields(msg: AudioMetadata | FrameMetadata | SessionComplete | CaptureEvent): Record<string, number> {
  if (msg.type === "session_complete") return {};
  if (msg.type === "capture_event") return { event_index: msg.event_index };
  return msg.type === "audio_metadata" ? indexField("audio", msg.chunk_index) : indexField("frame", msg.frame_index);
}
