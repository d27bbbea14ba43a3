import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { bearerCredential, createApiKeyChecker, parseApiKeys, parseSecretList } from "./api-keys";

const K1 = "k1-0123456789abcdef0123456789abcdef";
const K2 = "k2-fedcba9876543210fedcba9876543210";

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("API_KEY_INVALID");
    return (e as AppError).reason ?? "";
  }
  throw new Error("expected API_KEY_INVALID");
}

describe("parseApiKeys", () => {
  test("a comma list, trimmed, in order, duplicates and empty entries dropped", () => {
    expect(parseApiKeys(` ${K1} ,${K2},, ${K1},`)).toEqual({ values: [K1, K2], errors: [] });
  });

  test("every problem is listed, by position, never with the key", () => {
    const r = parseApiKeys(`${K1},short,${"x".repeat(31)},${"é".repeat(16)}`);
    expect(r.errors).toEqual([
      "CANDID_API_KEYS: entry 2 has 5 bytes; each needs at least 32",
      "CANDID_API_KEYS: entry 3 has 31 bytes; each needs at least 32",
      "CANDID_API_KEYS: entry 4 must be visible ASCII without spaces (it travels in an Authorization header)",
    ]);
    expect(r.errors.join(" ")).not.toContain("short");
    expect(r.errors.join(" ")).not.toContain(K1);
  });

  test("none at all is an error", () => {
    for (const raw of [undefined, null, "", " , ,"]) expect(parseApiKeys(raw).errors).toEqual(["CANDID_API_KEYS must hold at least one value of 32+ bytes"]);
  });

  test("the shared list format counts UTF-8 bytes", () => {
    expect(parseSecretList("CANDID_TOKEN_SECRETS", "é".repeat(16)).values).toHaveLength(1);
    expect(parseSecretList("CANDID_TOKEN_SECRETS", "é".repeat(15)).errors[0]).toBe("CANDID_TOKEN_SECRETS: entry 1 has 30 bytes; each needs at least 32");
  });
});

describe("bearerCredential", () => {
  test("the credential of a Bearer header, scheme case-insensitive", () => {
    expect(bearerCredential(`Bearer ${K1}`)).toBe(K1);
    expect(bearerCredential(`bearer  ${K1} `)).toBe(K1);
    expect(bearerCredential("Bearer eyJ.a-b_c.d+e/f==")).toBe("eyJ.a-b_c.d+e/f==");
  });
  test("anything else is null", () => {
    for (const h of [undefined, null, "", "Bearer", "Bearer ", `Basic ${K1}`, `Bearer ${K1} extra`, `Bearer\t${K1}`, `Bearer ${"a".repeat(9000)}`, `Token ${K1}`]) {
      expect(bearerCredential(h)).toBeNull();
    }
  });
});

describe("createApiKeyChecker", () => {
  const checker = createApiKeyChecker([K1, K2]);

  test("any configured key passes (rotation: old and new both work)", () => {
    expect(() => checker.check(`Bearer ${K1}`)).not.toThrow();
    expect(() => checker.check(`Bearer ${K2}`)).not.toThrow();
    expect(checker.matches(K2)).toBe(true);
  });

  test("missing, malformed and wrong keys are refused with their reason", () => {
    expect(refusal(() => checker.check(undefined))).toBe("missing");
    expect(refusal(() => checker.check(null))).toBe("missing");
    expect(refusal(() => checker.check(""))).toBe("missing");
    expect(refusal(() => checker.check(`Basic ${K1}`))).toBe("malformed");
    expect(refusal(() => checker.check(K1))).toBe("malformed");
    expect(refusal(() => checker.check(`Bearer ${K1.slice(0, -1)}`))).toBe("wrong");
    expect(refusal(() => checker.check(`Bearer ${K1}x`))).toBe("wrong");
    expect(refusal(() => checker.check(`Bearer ${K1.toUpperCase()}`))).toBe("wrong");
  });

  test("the refusal never carries the presented value", () => {
    try {
      checker.check("Bearer guessguessguessguessguessguessguess");
    } catch (e) {
      expect(JSON.stringify({ m: (e as Error).message, d: (e as AppError).details })).not.toContain("guess");
    }
  });

  test("needs at least one key", () => {
    expect(() => createApiKeyChecker([])).toThrow();
  });
});
