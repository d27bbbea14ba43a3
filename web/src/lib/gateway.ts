/**
 * @module gateway
 * Where the gateway is for the browser. The base URL comes from PUBLIC_GATEWAY_URL (runtime env,
 * passed in by the caller; `npm start` sets it from GATEWAY_PORT) or defaults to port 8000 on the
 * host that served the page. The browser makes no HTTP call to the gateway: interviews are
 * created and upload tokens minted by the web app's server side (upload-grant.ts).
 */

export function gatewayBaseUrl(publicGatewayUrl: string | undefined, loc: { protocol: string; hostname: string }): string {
  const fromEnv = publicGatewayUrl?.trim();
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  return `${loc.protocol}//${loc.hostname}:8000`;
}

/** http(s)://host:port → ws(s)://host:port/ws/media-stream */
export function mediaStreamUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/ws/media-stream`;
}

/** Reads ?chunkMs=&frameMs= style overrides (for tests and demos); invalid values are ignored. */
export function intervalOverrides(params: URLSearchParams): { audioChunkDuration?: number; frameInterval?: number } {
  const num = (k: string, min: number) => {
    const v = Number(params.get(k));
    return Number.isFinite(v) && v >= min ? Math.floor(v) : undefined;
  };
  return { audioChunkDuration: num('chunkMs', 500), frameInterval: num('frameMs', 100) };
}
