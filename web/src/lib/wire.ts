/**
 * @module wire
 * The browser's door to the media protocol's vocabulary in proto/wire, shared with the gateway:
 * the binary framing (byte layout documented there and in docs/protocol.md), the JSON messages and
 * their encoder, and the error and close codes with what a client does about them
 * (docs/errors.md). The web client imports them from here instead of retyping them.
 */
export { type BlobKind } from '../../../proto/wire/ids.ts';
export { decodeBinaryFrame, encodeHeader, HEADER_BYTES } from '../../../proto/wire/binary-frame.ts';
export { CLOSES, dropsItem, endsSession, type ErrorCode, isErrorCode, isTransient, WIRE_ERRORS } from '../../../proto/wire/errors.ts';
export {
  type AudioMetadataFields,
  CAPTURE_EVENT_KINDS,
  CAPTURE_EVENT_PHASES,
  type CaptureEvent,
  type CaptureEventDetail,
  type CaptureEventKind,
  type CaptureEventPhase,
  encodeClientMessage,
  erroredItem,
  type FrameMetadataFields,
  inRanges,
  MAX_CAPTURE_EVENT_DETAIL_BYTES,
  mediaMetadata,
  type ServerMessage,
  type SessionCompleteAck,
  type StoredIndices,
} from '../../../proto/wire/messages.ts';
