/**
 * @module registry
 * The session leases this gateway instance holds (docs/metadata.md, "Leases"). A session belongs
 * to at most one connection in the whole fleet: every session_init takes its lease in the
 * metadata service (OpenSession bumps the session's epoch), and every record the connection
 * writes carries that epoch, so metadata refuses the writes of a connection whose session was
 * taken over since (fencing). This registry is the gateway's side:
 *  - `claim`: the connection that just opened the session under `epoch` holds it here; a previous
 *    local holder is told at once (`takenOver`);
 *  - `renew` (every GATEWAY_LEASE_RENEW_MS, `start`): one RenewLeases call for all the leases
 *    held, the instance's heartbeat; the sessions it answers lost were taken over elsewhere, and
 *    their connections are told (close 4409), unless they re-claimed meanwhile;
 *  - `release`: the connection closed; the lease is given up in metadata, so `is_connected`
 *    turns false at once (not one TTL later), unless another connection holds it by then.
 * The metadata service's answer is the truth; this map is what the instance believes. A failed
 * renewal changes nothing here (the fence still holds: a lost session's records are refused).
 */
import type { MetadataService, SessionLease } from "./ports";

export interface Owner {
  /** Called when another connection (on this gateway or another) takes the session over. */
  takenOver(): void;
}

export interface RegistryEvents {
  /** The number of leases held changed. */
  held(count: number): void;
  /** A connection lost its session to another one; `where`: on this instance or another. */
  takenOver(where: "local" | "remote"): void;
  /** A renewal or release call failed (metadata unreachable). */
  failed(call: "renew" | "release", err: unknown): void;
}

const NO_EVENTS: RegistryEvents = { held: () => {}, takenOver: () => {}, failed: () => {} };

export class SessionRegistry {
  private readonly holders = new Map<string, { owner: Owner; epoch: number }>();
  private readonly releasing = new Set<Promise<unknown>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private renewing: Promise<void> | null = null;

  constructor(
    /** GATEWAY_INSTANCE_ID: this process's name in the leases. */
    readonly instanceId: string,
    private readonly metadata: Pick<MetadataService, "renewLeases" | "releaseSession">,
    private readonly events: RegistryEvents = NO_EVENTS,
  ) {}

  get size(): number {
    return this.holders.size;
  }

  /** Whether a connection of this instance holds the session (tests; the status endpoint asks metadata). */
  holds(sessionId: string): boolean {
    return this.holders.has(sessionId);
  }

  /** Makes `owner` the session's connection under `epoch`; a previous local owner is told and dropped. */
  claim(sessionId: string, epoch: number, owner: Owner): void {
    const prev = this.holders.get(sessionId);
    this.holders.set(sessionId, { owner, epoch });
    this.events.held(this.holders.size);
    if (prev && prev.owner !== owner) {
      this.events.takenOver("local");
      prev.owner.takenOver();
    }
  }

  /** Forgets the session if `owner` still holds it, and gives the lease up in metadata. */
  release(sessionId: string, owner: Owner): void {
    const held = this.holders.get(sessionId);
    if (held?.owner !== owner) return;
    this.holders.delete(sessionId);
    this.events.held(this.holders.size);
    const call = this.metadata
      .releaseSession({ sessionId, ownerEpoch: held.epoch, ownerInstance: this.instanceId })
      .catch((err) => this.events.failed("release", err))
      .finally(() => this.releasing.delete(call));
    this.releasing.add(call);
  }

  /** One heartbeat: renews every lease held; tells the connections whose session moved on. */
  async renew(): Promise<void> {
    const sent: SessionLease[] = [...this.holders].map(([sessionId, h]) => ({ sessionId, ownerEpoch: h.epoch }));
    let lost: string[];
    try {
      lost = await this.metadata.renewLeases(this.instanceId, sent);
    } catch (err) {
      this.events.failed("renew", err);
      return;
    }
    const epochs = new Map(sent.map((l) => [l.sessionId, l.ownerEpoch]));
    for (const sessionId of lost) {
      const held = this.holders.get(sessionId);
      // Re-claimed (a newer epoch) on this instance while the call ran: that one is current.
      if (!held || held.epoch !== epochs.get(sessionId)) continue;
      this.holders.delete(sessionId);
      this.events.held(this.holders.size);
      this.events.takenOver("remote");
      held.owner.takenOver();
    }
  }

  /** Renews every `intervalMs` (one call at a time: a slow one is not stacked on). */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.renewing) return;
      this.renewing = this.renew().finally(() => (this.renewing = null));
    }, intervalMs);
  }

  /** Stops renewing and waits for the releases under way (shutdown, before the clients close). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing;
    await Promise.allSettled([...this.releasing]);
  }
}
