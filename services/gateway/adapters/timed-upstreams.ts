/**
 * @module gateway/timed-upstreams
 * The gateway's own view of its upstream calls: wraps the StorageService and MetadataService
 * ports so every call is timed into `candid_gateway_upstream_call_duration_seconds{upstream,
 * method,outcome}` (outcome: ok, or the AppError code it failed with: UPSTREAM_UNAVAILABLE is the
 * upstream being away, the others are answers). The method lists are checked against the ports
 * at compile time (`satisfies Record<keyof Port, true>`), so a new port method cannot go untimed.
 */
import { toAppError } from "../../shared/errors";
import type { MetadataService, StorageService } from "../core/ports";

/** Every StorageService method, timed. */
export const STORAGE_CALLS = { put: true, delete: true } as const satisfies Record<keyof StorageService, true>;

/** Every MetadataService method, timed. */
export const METADATA_CALLS = {
  openSession: true,
  recordAudio: true,
  recordFrame: true,
  completeSession: true,
  renewLeases: true,
  releaseSession: true,
  status: true,
  recordCaptureEvent: true,
} as const satisfies Record<keyof MetadataService, true>;

export interface CallTimer {
  observe(labels: { upstream: string; method: string; outcome: string }, seconds: number): void;
}

/** `port` with each method in `methods` timed; other members (the adapters' extras) pass through. */
function timed<T extends object>(port: T, upstream: string, methods: Record<string, true>, timer: CallTimer): T {
  const out = Object.create(port) as Record<string, unknown>;
  for (const method of Object.keys(methods)) {
    const fn = (port as Record<string, unknown>)[method];
    if (typeof fn !== "function") throw new Error(`${upstream}.${method} is not a function`);
    out[method] = async (...args: unknown[]) => {
      const t0 = performance.now();
      let outcome = "ok";
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>).apply(port, args);
      } catch (err) {
        outcome = toAppError(err).code;
        throw err;
      } finally {
        timer.observe({ upstream, method, outcome }, (performance.now() - t0) / 1000);
      }
    };
  }
  return out as T;
}

export function timedStorage<T extends StorageService>(port: T, timer: CallTimer): T {
  return timed(port, "storage", STORAGE_CALLS, timer);
}

export function timedMetadata<T extends MetadataService>(port: T, timer: CallTimer): T {
  return timed(port, "metadata", METADATA_CALLS, timer);
}
