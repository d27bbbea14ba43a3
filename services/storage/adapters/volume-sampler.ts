/**
 * @module volume-sampler
 * The media volume's free space, for the fs backend: statfs(2) of the root folder every
 * `intervalMs`, into candid_storage_volume_free_bytes / _size_bytes, so an operator is warned
 * (CandidStorageVolumeLow, helm/candid/rules/candid.rules.yaml) before puts start failing with
 * STORAGE_FULL. Free means `bavail`: what a writer without root's reserved blocks may still use.
 * A failing statfs is logged once (until it works again) and leaves the last sample in place.
 */
import { statfs } from "node:fs/promises";
import type { Logger } from "../../shared/log";

export interface VolumeSample {
  freeBytes: number;
  sizeBytes: number;
}

/** One statfs of the volume holding `path`. */
export async function sampleVolume(path: string): Promise<VolumeSample> {
  const s = await statfs(path);
  // Bun and Node report the fragment size as bsize (f_frsize in Bun's frsize when present).
  const unit = (s as { frsize?: number }).frsize || s.bsize;
  return { freeBytes: s.bavail * unit, sizeBytes: s.blocks * unit };
}

/** Samples at once and then every `intervalMs` (> 0); returns stop(). The timer never keeps the process alive. */
export function startVolumeSampler(opts: {
  path: string;
  intervalMs: number;
  onSample: (s: VolumeSample) => void;
  log: Logger;
}): () => void {
  let failing = false;
  const tick = async () => {
    try {
      opts.onSample(await sampleVolume(opts.path));
      failing = false;
    } catch (err) {
      if (!failing) opts.log.warn("cannot read the media volume's free space", { path: opts.path, err });
      failing = true;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
