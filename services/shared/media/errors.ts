/**
 * @module shared/media/errors
 * Why an analyzer refused its input. Codes are stable strings the processor can branch on:
 *  - UNSUPPORTED_MEDIA_TYPE: a media type (or a codec inside it) the analyzers do not decode, e.g.
 *    Safari's audio/mp4 (AAC). Retrying will not help; the work loop should mark the item failed.
 *  - MEDIA_MALFORMED: the bytes claim a supported type but are not a valid file (bad EBML, no
 *    audio track, an element larger than its parent, a corrupt Opus packet).
 *  - MEDIA_TRUNCATED: the file ends inside an element: a partial upload or a cut blob.
 *  - MODEL_UNAVAILABLE: a model or its runtime could not be loaded (missing files, WASM failed).
 *    An installation problem, not a property of the item.
 */
export const ANALYSIS_ERROR_CODES = [
  'UNSUPPORTED_MEDIA_TYPE',
  'MEDIA_MALFORMED',
  'MEDIA_TRUNCATED',
  'MODEL_UNAVAILABLE',
] as const;

export type AnalysisErrorCode = (typeof ANALYSIS_ERROR_CODES)[number];

export class AnalysisError extends Error {
  override readonly name = 'AnalysisError';
  constructor(
    readonly code: AnalysisErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
