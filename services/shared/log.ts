/**
 * @module log
 * JSON lines on stdout: one root logger per service (created in main.ts, at the level its
 * config read from LOG_LEVEL); ids travel as fields.
 * Log ids, sizes and durations, never payloads or secrets.
 */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = (typeof LEVELS)[number];
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return String(err);
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if ("code" in err) out.code = (err as { code: unknown }).code;
  if (err.stack) out.stack = err.stack.split("\n").slice(0, 6).join("\n");
  if (err.cause) out.cause = serializeError(err.cause);
  return out;
}

export function createLogger(base: Fields, opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = rank[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (rank[level] < min) return;
    const rec: Fields = { time: new Date().toISOString(), level, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = k === "err" ? serializeError(v) : v;
    write(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
