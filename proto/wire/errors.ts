/**
 * @module wire/errors
 * The protocol-level subset of Candid's error table (services/shared/errors.ts holds the whole
 * table, with close codes and statuses). Kept here, free of server dependencies, so the browser
 * client shares the codec. A test checks every code below exists in the full table.
 */
export const WIRE_ERROR_CODES = [
  "MALFORMED_BINARY_HEADER",
  "INVALID_SESSION_ID",
  "INVALID_JSON",
  "UNKNOWN_MESSAGE_TYPE",
  "INVALID_MESSAGE",
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly details: { field?: string } = {},
  ) {
    super(message);
  }
}
