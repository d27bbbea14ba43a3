/**
 * @module review/keyboard
 * The player's keys (docs/web.md "Review"): Space or K play/pause, ← / → seek 5 s, , / . the
 * previous / next frame, Home / End the start / end. Pure: a key event's fields in, an action out.
 */

export type PlayerAction =
  | { kind: 'toggle' }
  | { kind: 'seekBy'; ms: number }
  | { kind: 'frame'; dir: -1 | 1 }
  | { kind: 'start' }
  | { kind: 'end' };

export const SEEK_STEP_MS = 5000;

export interface KeyInput {
  key: string;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  /** the event's target is a text field, a button or a link (which have their own Space/Enter) */
  targetTag?: string;
}

/**
 * The action for a key, or null to leave the key to the browser: with a modifier, in a form field,
 * and Space on a focused button or link (which activates it: the play button already toggles).
 */
export function playerAction(e: KeyInput): PlayerAction | null {
  if (e.altKey || e.ctrlKey || e.metaKey) return null;
  const tag = (e.targetTag ?? '').toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return null;
  switch (e.key) {
    case ' ':
    case 'Spacebar':
      return tag === 'BUTTON' || tag === 'A' || tag === 'SUMMARY' ? null : { kind: 'toggle' };
    case 'k':
    case 'K':
      return { kind: 'toggle' };
    case 'ArrowLeft':
      return { kind: 'seekBy', ms: -SEEK_STEP_MS };
    case 'ArrowRight':
      return { kind: 'seekBy', ms: SEEK_STEP_MS };
    case ',':
    case '<':
      return { kind: 'frame', dir: -1 };
    case '.':
    case '>':
      return { kind: 'frame', dir: 1 };
    case 'Home':
      return { kind: 'start' };
    case 'End':
      return { kind: 'end' };
    default:
      return null;
  }
}
