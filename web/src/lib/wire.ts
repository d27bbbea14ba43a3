/**
 * @module wire
 * The browser side of the media protocol's binary framing: the one codec in proto/wire, shared
 * with the gateway (byte layout documented there and in docs/protocol.md).
 */
export { decodeBinaryFrame, encodeHeader, HEADER_BYTES } from '../../../proto/wire/binary-frame.ts';
export type { BlobKind } from '../../../proto/wire/ids.ts';
export type { ServerMessage, SessionCompleteAck } from '../../../proto/wire/messages.ts';
