/**
 * @module config
 * The only reader of process.env. Each service declares its variables once with `str`, `int`,
 * `bool`...; `loadEnv` validates them all at start-up and reports every problem at once, then
 * returns a frozen, typed object. Core code receives plain values, never env names.
 *
 * @example
 * const config = loadEnv({ port: int("GATEWAY_PORT", 8000), storageAddr: str("STORAGE_ADDR", "127.0.0.1:50051") });
 */
// With its extension: web/vite.config.ts loads this file too, and Vite's native loader wants one.
import { LEVELS, type Level, createLogger } from "./log.ts";

type Reader<T> = (env: Record<string, string | undefined>) => T;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

class Problem extends Error {}

function raw(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/** A string; required when no default is given. */
export function str(name: string, fallback?: string): Reader<string> {
  return (env) => {
    const v = raw(env, name) ?? fallback;
    if (v === undefined) throw new Problem(`${name} is required`);
    return v;
  };
}

/** An optional string: undefined when unset. */
export function optStr(name: string): Reader<string | undefined> {
  return (env) => raw(env, name);
}

/** A non-negative integer (decimal). */
export function int(name: string, fallback?: number): Reader<number> {
  return (env) => {
    const v = raw(env, name);
    if (v === undefined) {
      if (fallback === undefined) throw new Problem(`${name} is required`);
      return fallback;
    }
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Problem(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

export function bool(name: string, fallback: boolean): Reader<boolean> {
  return (env) => {
    const v = raw(env, name);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    throw new Problem(`${name} must be true or false, got ${JSON.stringify(v)}`);
  };
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(name: string, choices: readonly T[], fallback: T): Reader<T> {
  return (env) => {
    const v = raw(env, name) ?? fallback;
    if (!(choices as readonly string[]).includes(v)) throw new Problem(`${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
    return v as T;
  };
}

/** LOG_LEVEL, read the same way by every service: debug, info, warn or error; default info. */
export function logLevel(): Reader<Level> {
  return oneOf("LOG_LEVEL", LEVELS, "info");
}

/** A comma-separated list (empty entries dropped). */
export function list(name: string, fallback: string[] = []): Reader<string[]> {
  return (env) => {
    const v = raw(env, name);
    return v === undefined ? fallback : v.split(",").map((s) => s.trim()).filter(Boolean);
  };
}

type Shape = Record<string, Reader<unknown>>;
export type Config<S extends Shape> = Readonly<{ [K in keyof S]: ReturnType<S[K]> }>;

/** Reads every variable of `shape`; throws ConfigError listing all problems at once. */
export function loadEnv<S extends Shape>(shape: S, env: Record<string, string | undefined> = process.env): Config<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, read] of Object.entries(shape)) {
    try {
      out[key] = read(env);
    } catch (e) {
      if (e instanceof Problem) problems.push(e.message);
      else throw e;
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(out) as Config<S>;
}

/**
 * For main.ts files: runs `load` (loadEnv or a service's own loader); on a ConfigError logs one
 * JSON line `{"msg":"invalid configuration","problems":[...]}` and exits with status 2.
 */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof ConfigError) {
      createLogger({ service }).error("invalid configuration", { problems: e.problems });
      process.exit(2);
    }
    throw e;
  }
}

/** configOrExit for a plain shape. */
export function loadEnvOrExit<S extends Shape>(service: string, shape: S): Config<S> {
  return configOrExit(service, () => loadEnv(shape));
}

/**
 * A required secret of at least `minBytes` bytes (UTF-8). Problems name the variable, never its
 * value: config errors are logged.
 */
export function secret(name: string, minBytes: number): Reader<string> {
  return (env) => {
    const v = raw(env, name);
    if (v === undefined) throw new Problem(`${name} is required`);
    if (Buffer.byteLength(v, "utf8") < minBytes) throw new Problem(`${name} must be at least ${minBytes} bytes`);
    return v;
  };
}

/**
 * Every set variable, copied: only for the launcher, which hands each child an allow-listed part
 * of its environment (services/launcher/child-env.ts).
 */
export function environment(): Reader<Readonly<Record<string, string>>> {
  return (env) => Object.freeze(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")));
}
