import { describe, expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadGatewayConfig } from "./config";

const KEY = "k".repeat(32);
const SECRET = "s".repeat(40);
const base = { CANDID_API_KEYS: KEY, CANDID_TOKEN_SECRETS: SECRET, CANDID_INTERNAL_TOKEN: "i".repeat(32) };

function problems(env: Record<string, string>): string[] {
  try {
    loadGatewayConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe("gateway config", () => {
  test("the access secrets are required and parsed; defaults: no CORS origin, 4 h / 24 h tokens, 4 sessions per token, ops port 9100", () => {
    const c = loadGatewayConfig({ ...base, CANDID_TOKEN_SECRETS: `${SECRET}, ${"t".repeat(32)}` });
    expect(c.apiKeys).toEqual([KEY]);
    expect(c.tokenSecrets).toEqual([SECRET, "t".repeat(32)]);
    expect(c.corsAllowedOrigins).toEqual([]);
    expect([c.tokenDefaultTtlS, c.tokenMaxTtlS, c.maxSessionsPerToken, c.opsPort]).toEqual([14_400, 86_400, 4, 9100]);
    expect(Object.keys(c)).not.toContain("apiKeysRaw");
    expect(loadGatewayConfig({ ...base, CORS_ALLOWED_ORIGINS: "*" }).corsAllowedOrigins).toEqual(["*"]);
  });

  test("without keys or secrets, or with short ones, every problem is listed and no value is", () => {
    const p = problems({});
    expect(p.some((s) => s.startsWith("CANDID_API_KEYS"))).toBe(true);
    expect(p.some((s) => s.startsWith("CANDID_TOKEN_SECRETS"))).toBe(true);
    const short = problems({ CANDID_API_KEYS: "short-key", CANDID_TOKEN_SECRETS: "short-secret", CANDID_INTERNAL_TOKEN: "short-internal", GATEWAY_PORT: "x" });
    expect(short.length).toBe(4);
    expect(short.join("\n")).not.toContain("short-internal");
    expect(short.join("\n")).not.toContain("short-key");
    expect(short.join("\n")).not.toContain("short-secret");
  });

  test("token lifetimes are bounded by 24 h and default <= max", () => {
    expect(problems({ ...base, GATEWAY_TOKEN_MAX_TTL_S: "90000" })).toHaveLength(1);
    expect(problems({ ...base, GATEWAY_TOKEN_DEFAULT_TTL_S: "7200", GATEWAY_TOKEN_MAX_TTL_S: "3600" })).toHaveLength(1);
    expect(loadGatewayConfig({ ...base, GATEWAY_TOKEN_DEFAULT_TTL_S: "600", GATEWAY_TOKEN_MAX_TTL_S: "3600" }).tokenMaxTtlS).toBe(3600);
  });
});
