/**
 * @module limits
 * The gateway's abuse limits as pure, clock-injected pieces (issue 14, part 8). The adapters hold
 * one instance of each gateway-wide limiter and one per connection of the rest, and turn a refusal
 * into its documented answer:
 *
 * | limiter              | env (default)                                   | refusal                          |
 * |----------------------|-------------------------------------------------|----------------------------------|
 * | ConnectionLimiter    | GATEWAY_MAX_CONNECTIONS (10000),                | TOO_MANY_CONNECTIONS: the        |
 * |                      | GATEWAY_MAX_CONNECTIONS_PER_IP (50)             | upgrade is answered 503          |
 * | TokenBucket          | GATEWAY_MAX_MESSAGES_PER_S (1000),              | RATE_LIMITED, close 4430         |
 * |                      | GATEWAY_MESSAGE_BURST (2000)                    |                                  |
 * | SessionsPerToken     | GATEWAY_MAX_SESSIONS_PER_TOKEN (4)              | TOO_MANY_SESSIONS, close 4431    |
 * | ByteBudget           | GATEWAY_MAX_TOTAL_BUFFERED_BYTES (1 GiB), with  | BUFFER_LIMIT_EXCEEDED, close 4429|
 * |                      | GATEWAY_MAX_BUFFERED_BYTES (64 MiB) per conn.   |                                  |
 * | ConnectionDeadlines  | GATEWAY_INIT_TIMEOUT_MS (10000),                | INIT_TIMEOUT close 4408,         |
 * |                      | GATEWAY_IDLE_TIMEOUT_MS (120000)                | IDLE_TIMEOUT close 4410          |
 * | boundedMissing       | 1,000 indices per list (MAX_MISSING_LISTED)     | (never refuses: truncates)       |
 * | renderStored         | 1,000 ranges per kind (MAX_STORED_RANGES)       | (never refuses: truncates)       |
 *
 * Nothing here reads the environment or a clock of its own: the config loader passes the numbers,
 * and `now` (ms) comes from the caller, so tests step time by hand.
 */
import { MAX_STORED_RANGES, type StoredIndices } from "../../../proto/wire";
import type { StoredSummary } from "./ports";

/** Limit values, named after their environment variables (the config loader fills them). */
export interface AbuseLimits {
  /** GATEWAY_MAX_CONNECTIONS: open WebSockets in the whole gateway (default 10000). */
  maxConnections: number;
  /** GATEWAY_MAX_CONNECTIONS_PER_IP: open WebSockets per client IP (default 50). */
  maxConnectionsPerIp: number;
  /** GATEWAY_INIT_TIMEOUT_MS: time a connection has to send a valid session_init, in ms (default 10000). */
  initTimeoutMs: number;
  /** GATEWAY_IDLE_TIMEOUT_MS: time without a protocol message before the close, in ms; pings do not count (default 120000). */
  idleTimeoutMs: number;
  /** GATEWAY_MAX_MESSAGES_PER_S: sustained messages (text and binary) per connection per second (default 1000). */
  maxMessagesPerS: number;
  /** GATEWAY_MESSAGE_BURST: messages a connection may send at once above the sustained rate (default 2000: 2 s worth; a client draining its outbox after a network drop sends hundreds of small frames a second). */
  messageBurst: number;
  /** GATEWAY_MAX_SESSIONS_PER_TOKEN: media sessions open at once under one upload token (jti) (default 4). */
  maxSessionsPerToken: number;
  /** GATEWAY_MAX_TOTAL_BUFFERED_BYTES: bytes received and not yet acked or refused, all connections together (default 1 GiB). */
  maxTotalBufferedBytes: number;
}

export const ABUSE_LIMIT_DEFAULTS: Readonly<AbuseLimits> = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerIp: 50,
  initTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  maxMessagesPerS: 1000,
  messageBurst: 2000,
  maxSessionsPerToken: 4,
  maxTotalBufferedBytes: 1024 ** 3,
});

/** A held slot; release() is idempotent, so an adapter may call it from every close path. */
export interface Lease {
  release(): void;
}

function once(fn: () => void): Lease {
  let done = false;
  return {
    release() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Connections: gateway-wide and per client IP.

export type ConnectionAdmission = { ok: true; lease: Lease } | { ok: false; code: "TOO_MANY_CONNECTIONS"; scope: "gateway" | "ip" };

/**
 * Counts open connections in all and per client IP. Protects the process (file descriptors,
 * per-socket memory) from one host, or many, opening sockets faster than they are used.
 */
export class ConnectionLimiter {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Admits a connection from `ip` (as the adapter sees it) or says which cap it hit. */
  tryAcquire(ip: string): ConnectionAdmission {
    if (this.total >= this.maxTotal) return { ok: false, code: "TOO_MANY_CONNECTIONS", scope: "gateway" };
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) return { ok: false, code: "TOO_MANY_CONNECTIONS", scope: "ip" };
    this.total++;
    this.perIp.set(ip, n + 1);
    return {
      ok: true,
      lease: once(() => {
        this.total--;
        const left = (this.perIp.get(ip) ?? 1) - 1;
        // Forget an IP at zero, so the map holds only hosts with open sockets.
        if (left <= 0) this.perIp.delete(ip);
        else this.perIp.set(ip, left);
      }),
    };
  }

  get open(): number {
    return this.total;
  }

  openFrom(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** How many distinct IPs hold connections (bounded by open connections). */
  get ips(): number {
    return this.perIp.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Per-connection message rate.

/**
 * A token bucket: `ratePerS` tokens per second refill up to `burst`; each message takes one.
 * Protects the event loop and the per-connection queue from a client flooding small messages
 * (each one costs a parse and a queue slot whatever its size).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens at time `now` (ms); false (and nothing taken) when there are not enough. */
  take(now: number, n = 1): boolean {
    const elapsed = Math.max(0, now - this.last); // a clock stepping back refills nothing
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerS) / 1000);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Tokens left at the last take (for tests and metrics). */
  get available(): number {
    return this.tokens;
  }
}

// ---------------------------------------------------------------------------------------------
// Concurrent media sessions per upload token.

export type SessionAdmission = { ok: true; lease: Lease } | { ok: false; code: "TOO_MANY_SESSIONS" };

/**
 * Media sessions open at once under one token, keyed by its jti. A leaked token then opens a
 * handful of sessions, not thousands. The same session id counts once however many connections
 * carry it (a takeover briefly has two), and a slot is free again when its last connection goes.
 */
export class SessionsPerToken {
  private readonly byJti = new Map<string, Map<string, number>>();

  constructor(private readonly maxPerToken: number) {}

  /** GATEWAY_MAX_SESSIONS_PER_TOKEN, for messages. */
  get limit(): number {
    return this.maxPerToken;
  }

  tryAcquire(jti: string, sessionId: string): SessionAdmission {
    let sessions = this.byJti.get(jti);
    const held = sessions?.get(sessionId) ?? 0;
    if (held === 0 && (sessions?.size ?? 0) >= this.maxPerToken) return { ok: false, code: "TOO_MANY_SESSIONS" };
    if (!sessions) this.byJti.set(jti, (sessions = new Map()));
    sessions.set(sessionId, held + 1);
    const s = sessions;
    return {
      ok: true,
      lease: once(() => {
        const left = (s.get(sessionId) ?? 1) - 1;
        if (left > 0) return void s.set(sessionId, left);
        s.delete(sessionId);
        if (s.size === 0) this.byJti.delete(jti);
      }),
    };
  }

  /** Distinct sessions open under `jti`. */
  sessionsOf(jti: string): number {
    return this.byJti.get(jti)?.size ?? 0;
  }

  /** Tokens with at least one open session (bounded by open connections). */
  get tokens(): number {
    return this.byJti.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Buffered bytes: per connection, inside a gateway-wide budget.

/**
 * Bytes received and not yet acked or refused (blobs and text messages alike). WebSockets have no
 * inbound flow control, so this is what bounds the gateway's memory: a budget per connection
 * (GATEWAY_MAX_BUFFERED_BYTES) whose reservations also draw on the gateway-wide one
 * (GATEWAY_MAX_TOTAL_BUFFERED_BYTES). A reservation succeeds in both or in neither.
 */
export class ByteBudget {
  private usedBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly parent: ByteBudget | null = null,
  ) {}

  /** Reserves `n` bytes; false (nothing reserved anywhere) when this or a parent budget would overflow. */
  tryReserve(n: number): boolean {
    if (!Number.isFinite(n) || n < 0) throw new RangeError("bytes must be a non-negative number");
    if (this.usedBytes + n > this.maxBytes) return false;
    if (this.parent && !this.parent.tryReserve(n)) return false;
    this.usedBytes += n;
    return true;
  }

  /** Gives back `n` reserved bytes (here and in the parents). */
  release(n: number): void {
    const k = Math.min(n, this.usedBytes); // never below zero, whatever a caller double-releases
    this.usedBytes -= k;
    this.parent?.release(k);
  }

  get used(): number {
    return this.usedBytes;
  }

  /** Which budget refuses `n` more bytes right now: "connection", "gateway" or null (it would fit). */
  wouldRefuse(n: number): "connection" | "gateway" | null {
    if (this.usedBytes + n > this.maxBytes) return "connection";
    if (this.parent && this.parent.wouldRefuse(n)) return "gateway";
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Deadlines: the init deadline and the idle deadline.

export type DeadlineExpiry = "INIT_TIMEOUT" | "IDLE_TIMEOUT";

/**
 * The two clocks of a connection. From the open, a connection has initTimeoutMs to send a valid
 * session_init (protects against sockets that connect and say nothing: each holds a descriptor
 * and memory), and it is closed after idleTimeoutMs without a protocol message. Only protocol
 * messages reset the idle clock: WebSocket pings/pongs are answered by the server library and do
 * not reach this class, so a client that only pings is still closed.
 *
 * The adapter calls `expired(now)` from a timer (or a sweep), scheduled at `nextDeadline()`.
 */
export class ConnectionDeadlines {
  private initBy: number | null;
  private idleBy: number;

  constructor(
    private readonly limits: Pick<AbuseLimits, "initTimeoutMs" | "idleTimeoutMs">,
    openedAt: number,
  ) {
    this.initBy = openedAt + limits.initTimeoutMs;
    this.idleBy = openedAt + limits.idleTimeoutMs;
  }

  /** A valid session_init was accepted: the init deadline no longer applies. */
  initialized(): void {
    this.initBy = null;
  }

  /** A protocol message (text or binary frame) arrived at `now`. */
  protocolMessage(now: number): void {
    this.idleBy = Math.max(this.idleBy, now + this.limits.idleTimeoutMs);
  }

  /** The deadline that has passed at `now` (init first), or null. */
  expired(now: number): DeadlineExpiry | null {
    if (this.initBy !== null && now >= this.initBy) return "INIT_TIMEOUT";
    if (now >= this.idleBy) return "IDLE_TIMEOUT";
    return null;
  }

  /** The next time (ms) expired() can change its answer. */
  nextDeadline(): number {
    return this.initBy === null ? this.idleBy : Math.min(this.initBy, this.idleBy);
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded missing lists for session_complete_ack.

/** Indices listed per missing list at most; the count is always exact. */
export const MAX_MISSING_LISTED = 1000;

export interface BoundedMissing {
  /** How many indices are missing in all. */
  count: number;
  /** The first (lowest) missing indices, ascending, at most `max` of them. */
  indices: number[];
}

/**
 * Truncates a missing list (as the metadata service returns it today: every index, ascending)
 * for session_complete_ack. stream-session.ts sends `r.missingChunks` / `r.missingFrames` whole:
 * with total_chunks up to 1,000,000 one message could answer with a megabyte of indices, and
 * repeating it amplifies. The ack keeps `missing_chunks` / `missing_frames` (now at most `max`
 * entries) and adds `missing_chunks_count` / `missing_frames_count` (see renderMissing).
 */
export function boundedMissing(indices: readonly number[], max = MAX_MISSING_LISTED): BoundedMissing {
  return { count: indices.length, indices: indices.length <= max ? [...indices] : indices.slice(0, max) };
}

/**
 * The same without the full list: the missing indices of [0, claimed) given the present ones, in
 * O(present + max) time and memory rather than O(claimed), for a producer that can compute it.
 * Present indices outside [0, claimed) and duplicates are ignored.
 */
export function missingWithin(claimed: number, present: Iterable<number>, max = MAX_MISSING_LISTED): BoundedMissing {
  const have = new Set<number>();
  for (const i of present) if (Number.isInteger(i) && i >= 0 && i < claimed) have.add(i);
  const indices: number[] = [];
  for (let i = 0; i < claimed && indices.length < max; i++) if (!have.has(i)) indices.push(i);
  return { count: claimed - have.size, indices };
}

/** The missing-list fields of session_complete_ack, bounded. */
export interface MissingFields {
  missing_chunks: number[];
  missing_frames: number[];
  missing_chunks_count: number;
  missing_frames_count: number;
}

export function renderMissing(missingChunks: readonly number[], missingFrames: readonly number[], max = MAX_MISSING_LISTED): MissingFields {
  const c = boundedMissing(missingChunks, max);
  const f = boundedMissing(missingFrames, max);
  return { missing_chunks: c.indices, missing_frames: f.indices, missing_chunks_count: c.count, missing_frames_count: f.count };
}

// ---------------------------------------------------------------------------------------------
// Bounded stored ranges for session_init_ack.

/**
 * The `stored` / `stored_truncated` fields of a resumed session's session_init_ack. The metadata
 * service already answers at most MAX_STORED_RANGES runs per kind; the gateway holds the wire's
 * bound itself too, so one answer cannot grow the ack past it whatever the upstream sends.
 */
export function renderStored(s: StoredSummary, max = MAX_STORED_RANGES): { stored: StoredIndices; stored_truncated: boolean } {
  const cut = s.chunks.length > max || s.frames.length > max;
  return { stored: { chunks: s.chunks.slice(0, max), frames: s.frames.slice(0, max) }, stored_truncated: s.truncated || cut };
}
