/** The Candid WebSocket protocol: binary frame codec, JSON messages, sniffing, error codes. */
export * from "./binary-frame";
export * from "./errors";
export * from "./messages";
export * from "./sniff";
export * from "./ids";
