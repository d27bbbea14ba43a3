import { describe, expect, test } from "bun:test";
import { bool, ConfigError, int, list, loadEnv, logLevel, oneOf, optStr, secret, str } from "./config";

describe("loadEnv", () => {
  const shape = { port: int("PORT", 8000), addr: str("ADDR"), on: bool("ON", false), mode: oneOf("MODE", ["a", "b"] as const, "a"), tags: list("TAGS"), opt: optStr("OPT") };

  test("defaults, parsing, frozen result", () => {
    const c = loadEnv(shape, { ADDR: "x:1", ON: "yes", TAGS: "a, b,,c", MODE: "b" });
    expect(c).toEqual({ port: 8000, addr: "x:1", on: true, mode: "b", tags: ["a", "b", "c"], opt: undefined });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("reports every problem at once", () => {
    try {
      loadEnv(shape, { PORT: "-3", ON: "maybe", MODE: "c" });
      throw new Error("should fail");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toEqual([
        'PORT must be a non-negative integer, got "-3"',
        "ADDR is required",
        'ON must be true or false, got "maybe"',
        'MODE must be one of a, b, got "c"',
      ]);
    }
  });

  test("empty strings count as unset", () => {
    expect(loadEnv({ p: int("P", 5) }, { P: "" }).p).toBe(5);
  });

  test("secret: required, at least minBytes, and its value never in a problem", () => {
    const shape = { token: secret("TOKEN", 32) };
    expect(loadEnv(shape, { TOKEN: "x".repeat(32) }).token).toBe("x".repeat(32));
    expect(() => loadEnv(shape, {})).toThrow("TOKEN is required");
    try {
      loadEnv(shape, { TOKEN: "short-secret-value" });
      throw new Error("should fail");
    } catch (e) {
      expect((e as ConfigError).problems).toEqual(["TOKEN must be at least 32 bytes"]);
      expect((e as Error).message).not.toContain("short-secret-value");
    }
  });
});

test("logLevel: one reader of LOG_LEVEL for every service, info by default, a typo is a problem", () => {
  expect(loadEnv({ level: logLevel() }, {}).level).toBe("info");
  expect(loadEnv({ level: logLevel() }, { LOG_LEVEL: "debug" }).level).toBe("debug");
  expect(() => loadEnv({ level: logLevel() }, { LOG_LEVEL: "verbose" })).toThrow(/LOG_LEVEL must be one of debug, info, warn, error/);
});
