/**
 * @module media-support
 * Pure helpers around browser media APIs: which audio container to record, and what to tell a
 * person when getUserMedia fails. No DOM access, so they are unit-tested.
 */

/** Preference order: Opus in WebM (Chromium, Firefox), then MP4 (Safari records AAC in MP4). */
export const AUDIO_MIME_CANDIDATES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4;codecs=mp4a.40.2', 'audio/mp4'] as const;

/** First supported type, or undefined when the browser can record none of them. */
export function pickAudioMimeType(isTypeSupported: (t: string) => boolean, candidates: readonly string[] = AUDIO_MIME_CANDIDATES): string | undefined {
  return candidates.find((t) => {
    try {
      return isTypeSupported(t);
    } catch {
      return false;
    }
  });
}

/** File extension the backend will store a type under (informational). */
export function extensionFor(mimeType: string): 'webm' | 'mp4' {
  return mimeType.startsWith('audio/mp4') ? 'mp4' : 'webm';
}

export type DeviceProblem = 'permission-denied' | 'no-device' | 'device-busy' | 'insecure-context' | 'unsupported' | 'unknown';

/** Classifies a getUserMedia rejection (DOMException names per the Media Capture spec). */
export function classifyMediaError(err: unknown): DeviceProblem {
  const name = (err as { name?: string } | null)?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'permission-denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'no-device';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'device-busy';
    case 'InsecureContextError':
      return 'insecure-context';
    case 'UnsupportedError':
      return 'unsupported';
    default:
      return 'unknown';
  }
}

export const DEVICE_PROBLEM_TEXT: Record<DeviceProblem, string> = {
  'permission-denied':
    'Camera or microphone access was denied. Allow access in your browser’s site settings (the icon left of the address bar), then reload this page.',
  'no-device': 'No camera or microphone was found. Connect one (or check it is enabled in your system settings), then try again.',
  'device-busy': 'Your camera or microphone is in use by another application, or could not be started. Close other apps that use it, then try again.',
  'insecure-context': 'This page must be opened over https:// (or on localhost) to use the camera and microphone.',
  unsupported: 'This browser cannot record audio. Use a current Chrome, Edge, Firefox or Safari.',
  unknown: 'The camera or microphone could not be started.',
};

/** RMS level of time-domain samples in [-1, 1], mapped to 0..1 for a meter (−60 dBFS → 0). */
export function levelFromSamples(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const v of samples) sum += v * v;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}
