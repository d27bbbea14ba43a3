/**
 * @module wire/limits
 * The limits a gateway enforces on each media connection, under the names the gateway's config,
 * its error messages and the docs use. The values are the gateway's configuration
 * (services/gateway/config.ts holds the variables and defaults); a client keeps below them.
 */
export interface ProtocolLimits {
  /** Largest audio chunk in bytes (GATEWAY_MAX_AUDIO_BYTES); larger: BLOB_TOO_LARGE, or close 1009 past it + the header. */
  maxAudioBytes: number;
  /** Largest frame in bytes (GATEWAY_MAX_FRAME_BYTES); larger: BLOB_TOO_LARGE. */
  maxFrameBytes: number;
  /** Metadata messages that may wait for their blobs, per connection (GATEWAY_MAX_PENDING); more: TOO_MANY_PENDING. */
  maxPending: number;
  /** How long announced metadata waits for its blob, in ms (GATEWAY_PENDING_TTL_MS); later: METADATA_MISSING. */
  pendingTtlMs: number;
  /** Bytes of received blobs not yet acked or refused, per connection (GATEWAY_MAX_BUFFERED_BYTES); more: close 4429. */
  maxBufferedBytes: number;
}
