/**
 * @module registry
 * Which connection currently owns which session, on this gateway. A session belongs to at most one
 * connection: a reconnecting client's new socket takes it over from the old, possibly half-dead,
 * one. The status endpoint's `is_connected` reads it.
 */
export interface Owner {
  /** Called when another connection takes the session over. */
  takenOver(): void;
}

export class SessionRegistry {
  private readonly owners = new Map<string, Owner>();

  /** Makes `owner` the session's connection; the previous owner, if any, is told and dropped. */
  claim(sessionId: string, owner: Owner): void {
    const prev = this.owners.get(sessionId);
    this.owners.set(sessionId, owner);
    if (prev && prev !== owner) prev.takenOver();
  }

  /** Forgets the session if `owner` still holds it. */
  release(sessionId: string, owner: Owner): void {
    if (this.owners.get(sessionId) === owner) this.owners.delete(sessionId);
  }

  isConnected(sessionId: string): boolean {
    return this.owners.has(sessionId);
  }
}
