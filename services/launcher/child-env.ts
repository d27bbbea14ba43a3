/**
 * @module launcher/child-env
 * What each child of `npm start` may see of the launcher's environment: an explicit allow-list
 * per child, never the whole environment. A name ending in `*` is a prefix. The secrets are not
 * inherited at all: the launcher sets them for the children that need them (childEnv's `set`).
 */

/** Every child: finding programs and temp files, locale, log level. */
export const COMMON_ALLOW = ["PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "NODE_EXTRA_CA_CERTS", "LOG_LEVEL"] as const;

export const CHILD_ALLOW: Readonly<Record<string, readonly string[]>> = {
  metadata: ["METADATA_*", "DATABASE_*", "PGLITE_*", "PG*"],
  storage: ["STORAGE_*", "MEDIA_STORAGE_DIR", "S3_*", "AWS_*", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"],
  gateway: ["GATEWAY_*", "CORS_ALLOWED_ORIGINS"],
  reaper: ["REAPER_*"],
  processor: ["PROCESSOR_*", "TRANSCRIBER_OPENAI_*", "TRANSCRIBER_TIMEOUT_MS", "TRANSCRIBER_LANGUAGE", "ANALYSIS_*"],
  transcriber: ["TRANSCRIBER_THREADS", "TRANSCRIBER_COMPUTE_TYPE", "TRANSCRIBER_BEAM_SIZE", "TRANSCRIBER_LANGUAGE", "TRANSCRIBER_MODEL_DIR", "TRANSCRIBER_MODEL_NAME", "TRANSCRIBER_OPS_PORT", "OMP_NUM_THREADS"],
  // adapter-node's own settings and the public (browser-visible) variables.
  web: ["PUBLIC_*", "ORIGIN", "PROTOCOL_HEADER", "HOST_HEADER", "PORT_HEADER", "ADDRESS_HEADER", "XFF_DEPTH", "BODY_SIZE_LIMIT", "SHUTDOWN_TIMEOUT", "IDLE_TIMEOUT"],
};

const matches = (name: string, pattern: string) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

/**
 * The environment of one child: the allowed part of `inherited`, then `set` on top (an empty
 * value in `set` removes the variable).
 */
export function childEnv(inherited: Readonly<Record<string, string>>, allow: readonly string[], set: Readonly<Record<string, string>>): Record<string, string> {
  const patterns = [...COMMON_ALLOW, ...allow];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(inherited)) if (patterns.some((p) => matches(k, p))) env[k] = v;
  for (const [k, v] of Object.entries(set)) {
    if (v === "") delete env[k];
    else env[k] = v;
  }
  return env;
}
