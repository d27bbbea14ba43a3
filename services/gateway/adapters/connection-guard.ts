/**
 * @module gateway/connection-guard
 * The connection-level abuse limits of the media WebSocket (docs/security.md, "Abuse limits"),
 * built from the pure limiters of core/limits.ts and a clock:
 *
 *   upgrade request ──Origin not allowed──▶ 403 ORIGIN_NOT_ALLOWED
 *         │        ──gateway / IP at cap──▶ 503 TOO_MANY_CONNECTIONS
 *         ▼
 *   open ── takes a connection slot (a race past the check: close 1013) ── one timer:
 *         no session ready within initTimeoutMs ──▶ close 4408 INIT_TIMEOUT
 *         no protocol message for idleTimeoutMs ──▶ close 4410 IDLE_TIMEOUT  (pings do not count)
 *   each message ── token bucket ── empty ──▶ close 4430 RATE_LIMITED (the message is dropped)
 *   close ── gives the slot back, stops the timer
 *
 * The upgrade check only peeks at the counts; the slot is taken when the socket opens and given
 * back when it closes, so a handshake that never completes cannot leak a slot. Bun's own
 * idleTimeout is reset by pings, so the idle deadline is ours. The buffered-bytes limits live in
 * the StreamSession (per connection) and in `MeteredByteBudget` below (gateway-wide).
 */
import { type ErrorCode } from "../../../proto/wire";
import { endpointAnswer } from "../../shared/errors";
import { type AbuseLimits, ByteBudget, ConnectionDeadlines, ConnectionLimiter, type Lease, TokenBucket } from "../core/limits";

export type GuardLimits = Pick<AbuseLimits, "maxConnections" | "maxConnectionsPerIp" | "initTimeoutMs" | "idleTimeoutMs" | "maxMessagesPerS" | "messageBurst">;

/** The label of candid_gateway_limit_refusals_total. */
export type LimitName =
  | "origin"
  | "connections"
  | "connections_per_ip"
  | "init_timeout"
  | "idle_timeout"
  | "message_rate"
  | "buffered_bytes"
  | "total_buffered_bytes";

export interface GuardClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: GuardClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** True when a request with this Origin header may use the gateway: no Origin (not a browser), or one on the list ("*": any). */
export function originAllowed(origin: string | null, allowed: readonly string[]): boolean {
  return origin === null || allowed.includes("*") || allowed.includes(origin);
}

/** What the guard needs of one open socket. */
export interface GuardedSocket {
  /** The session answered session_init: the init deadline no longer applies. */
  isReady(): boolean;
  /** Sends the error message for `code`, then closes with its close code (from the error table). */
  closeWith(code: ErrorCode, message: string): void;
  /** Closes 1013 (try again later): the socket raced past the connection cap at upgrade. */
  closeTryAgain(): void;
}

/** One open connection's limits; call message() for every protocol message and closed() once. */
export interface ConnectionWatch {
  /** A protocol message arrived: false when it is refused (the connection is being closed). */
  message(): boolean;
  closed(): void;
}

export class ConnectionGuard {
  private readonly connections: ConnectionLimiter;

  constructor(
    private readonly opts: {
      limits: GuardLimits;
      corsAllowedOrigins: readonly string[];
      refused: (limit: LimitName) => void;
      clock?: GuardClock;
    },
  ) {
    this.connections = new ConnectionLimiter(opts.limits.maxConnections, opts.limits.maxConnectionsPerIp);
  }

  /** Open connections (all, or from one IP). */
  get open(): number {
    return this.connections.open;
  }
  openFrom(ip: string): number {
    return this.connections.openFrom(ip);
  }

  /** At the upgrade request: the refusal to answer with, or null to go on and upgrade. */
  checkUpgrade(req: Request, ip: string): Response | null {
    if (!originAllowed(req.headers.get("origin"), this.opts.corsAllowedOrigins)) return this.refuse("origin", "ORIGIN_NOT_ALLOWED");
    const { maxConnections, maxConnectionsPerIp } = this.opts.limits;
    if (this.connections.open >= maxConnections) return this.refuse("connections", "TOO_MANY_CONNECTIONS");
    if (this.connections.openFrom(ip) >= maxConnectionsPerIp) return this.refuse("connections_per_ip", "TOO_MANY_CONNECTIONS");
    return null;
  }

  /** The socket opened: takes its slot and starts its clocks (or closes it 1013 and returns null). */
  watch(ip: string, socket: GuardedSocket): ConnectionWatch | null {
    const admitted = this.connections.tryAcquire(ip);
    if (!admitted.ok) {
      this.opts.refused(admitted.scope === "ip" ? "connections_per_ip" : "connections");
      socket.closeTryAgain();
      return null;
    }
    return new Watch(this.opts.limits, this.opts.clock ?? realClock, admitted.lease, socket, this.opts.refused);
  }

  private refuse(limit: LimitName, answer: "ORIGIN_NOT_ALLOWED" | "TOO_MANY_CONNECTIONS"): Response {
    this.opts.refused(limit);
    const { status, body } = endpointAnswer(answer);
    return Response.json(body, { status });
  }
}

class Watch implements ConnectionWatch {
  private readonly deadlines: ConnectionDeadlines;
  private readonly bucket: TokenBucket;
  private timer: unknown = null;
  private done = false;

  constructor(
    private readonly limits: GuardLimits,
    private readonly clock: GuardClock,
    private readonly lease: Lease,
    private readonly socket: GuardedSocket,
    private readonly refused: (limit: LimitName) => void,
  ) {
    const now = clock.now();
    this.deadlines = new ConnectionDeadlines(limits, now);
    this.bucket = new TokenBucket(limits.maxMessagesPerS, limits.messageBurst, now);
    this.schedule(now);
  }

  message(): boolean {
    if (this.done) return false;
    const now = this.clock.now();
    if (!this.bucket.take(now)) {
      this.end("message_rate", "RATE_LIMITED", `more than ${this.limits.maxMessagesPerS} messages a second (bursts of ${this.limits.messageBurst})`);
      return false;
    }
    // The idle clock only moves forward; the timer is not rescheduled here (thousands of messages
    // a second), it looks again when it fires.
    this.deadlines.protocolMessage(now);
    return true;
  }

  closed(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.done = true;
    this.lease.release();
  }

  private schedule(now: number): void {
    this.timer = this.clock.setTimeout(() => this.check(), Math.max(0, this.deadlines.nextDeadline() - now));
  }

  private check(): void {
    this.timer = null;
    if (this.done) return;
    const now = this.clock.now();
    let expired = this.deadlines.expired(now);
    if (expired === "INIT_TIMEOUT" && this.socket.isReady()) {
      this.deadlines.initialized();
      expired = this.deadlines.expired(now);
    }
    if (expired === "INIT_TIMEOUT") return this.end("init_timeout", "INIT_TIMEOUT", `no session_init accepted within ${this.limits.initTimeoutMs} ms`);
    if (expired === "IDLE_TIMEOUT") return this.end("idle_timeout", "IDLE_TIMEOUT", `no message for ${this.limits.idleTimeoutMs} ms`);
    if (this.socket.isReady()) this.deadlines.initialized(); // no need to wake up for the init deadline any more
    this.schedule(now);
  }

  private end(limit: LimitName, code: ErrorCode, message: string): void {
    this.refused(limit);
    this.done = true; // the slot is given back by closed(), when the socket's close arrives
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.socket.closeWith(code, message);
  }
}

/**
 * The gateway-wide buffered-bytes budget (GATEWAY_MAX_TOTAL_BUFFERED_BYTES), which every
 * connection's budget draws on, reporting its level and its own refusals.
 */
export class MeteredByteBudget extends ByteBudget {
  constructor(
    maxBytes: number,
    private readonly meter: { level(bytes: number): void; refused(): void },
  ) {
    super(maxBytes);
  }

  override tryReserve(n: number): boolean {
    const ok = super.tryReserve(n);
    if (ok) this.meter.level(this.used);
    else this.meter.refused();
    return ok;
  }

  override release(n: number): void {
    super.release(n);
    this.meter.level(this.used);
  }
}
