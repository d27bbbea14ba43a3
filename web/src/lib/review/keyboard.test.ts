import { expect, test } from 'bun:test';
import { playerAction, SEEK_STEP_MS } from './keyboard.ts';

test('the player keys', () => {
  expect(playerAction({ key: ' ' })).toEqual({ kind: 'toggle' });
  expect(playerAction({ key: 'k' })).toEqual({ kind: 'toggle' });
  expect(playerAction({ key: 'K' })).toEqual({ kind: 'toggle' });
  expect(playerAction({ key: 'ArrowRight' })).toEqual({ kind: 'seekBy', ms: 5000 });
  expect(playerAction({ key: 'ArrowLeft' })).toEqual({ kind: 'seekBy', ms: -5000 });
  expect(SEEK_STEP_MS).toBe(5000);
  expect(playerAction({ key: ',' })).toEqual({ kind: 'frame', dir: -1 });
  expect(playerAction({ key: '.' })).toEqual({ kind: 'frame', dir: 1 });
  expect(playerAction({ key: 'Home' })).toEqual({ kind: 'start' });
  expect(playerAction({ key: 'End' })).toEqual({ kind: 'end' });
  expect(playerAction({ key: 'x' })).toBeNull();
});

test('left to the browser: modifiers, form fields, Space on a button or link', () => {
  expect(playerAction({ key: 'ArrowRight', altKey: true })).toBeNull();
  expect(playerAction({ key: 'k', ctrlKey: true })).toBeNull();
  expect(playerAction({ key: 'ArrowLeft', metaKey: true })).toBeNull();
  expect(playerAction({ key: 'k', targetTag: 'input' })).toBeNull();
  expect(playerAction({ key: ' ', targetTag: 'BUTTON' })).toBeNull();
  expect(playerAction({ key: ' ', targetTag: 'A' })).toBeNull();
  // arrows and K still work while a button has focus (buttons do nothing with them)
  expect(playerAction({ key: 'ArrowRight', targetTag: 'BUTTON' })).toEqual({ kind: 'seekBy', ms: 5000 });
  expect(playerAction({ key: ' ', targetTag: 'DIV' })).toEqual({ kind: 'toggle' });
});
