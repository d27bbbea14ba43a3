/**
 * @module analyzers/frame-quality
 * Brightness, black and frozen frames, with sharp.
 *
 * Each JPEG is reduced to a small grey grid (default 64×48: sharp's greyscale is Rec. 709 luma of
 * the sRGB values, and the area-averaging resize keeps the mean and washes out JPEG and sensor
 * noise). Brightness is the grid's mean luma (0..1); a frame is black when it is below
 * `blackLuma`. Frozen compares the grid with the previous frame's: the mean absolute difference
 * (0..1) below `frozenChange` means the picture did not change. Without a previous frame both are
 * null. Frames of different sizes compare on the same grid.
 */
import sharp from 'sharp';
import type { FrameQuality } from '../core/ports.ts';
import { AnalysisError } from '../../shared/media/errors.ts';

export interface QualityOptions {
  blackLuma: number;
  frozenChange: number;
  gridWidth: number;
  gridHeight: number;
}

/** The grey grid of one frame: gridWidth × gridHeight bytes of luma. */
export async function lumaGrid(jpeg: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(jpeg)
      .greyscale()
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 1) throw new Error('unexpected grid shape');
    return data;
  } catch (e) {
    throw new AnalysisError('MEDIA_MALFORMED', `frame is not a decodable image: ${(e as Error).message}`, { cause: e });
  }
}

export function meanLuma(grid: Uint8Array): number {
  let s = 0;
  for (const v of grid) s += v;
  return grid.length === 0 ? 0 : s / grid.length / 255;
}

/** Mean absolute difference of two grids of the same size, 0..1. */
export function meanAbsDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError('grids differ in size');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return a.length === 0 ? 0 : s / a.length / 255;
}

export async function frameQuality(jpeg: Uint8Array, previousJpeg: Uint8Array | undefined, opts: QualityOptions): Promise<FrameQuality> {
  const [grid, prev] = await Promise.all([
    lumaGrid(jpeg, opts.gridWidth, opts.gridHeight),
    previousJpeg ? lumaGrid(previousJpeg, opts.gridWidth, opts.gridHeight) : Promise.resolve(null),
  ]);
  const brightness = meanLuma(grid);
  const change = prev ? meanAbsDifference(grid, prev) : null;
  return {
    brightness: round4(brightness),
    black: brightness < opts.blackLuma,
    frozen: change === null ? null : change < opts.frozenChange,
    changeFromPrevious: change === null ? null : round4(change),
  };
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
