/** The Candid WebSocket protocol: binary frame codec, JSON messages, sniffing, error and close codes, limits. */
export * from "./binary-frame";
export * from "./errors";
export * from "./messages";
export * from "./sniff";
export * from "./ids";
export * from "./limits";
