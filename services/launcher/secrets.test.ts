import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSecret, resolveSecrets } from "./secrets";

describe("resolveSecrets", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "candid-secrets-"));
    file = join(dir, "data", "secrets.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("first run: generates all three into a 0600 file in a 0700 folder; the next run reuses them", () => {
    const first = resolveSecrets(file, {});
    expect(first.generated).toEqual(["CANDID_API_KEYS", "CANDID_TOKEN_SECRETS", "CANDID_INTERNAL_TOKEN"]);
    for (const v of Object.values(first.secrets)) expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(Object.values(first.secrets)).size).toBe(3);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "data")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(first.secrets);

    const again = resolveSecrets(file, {});
    expect(again.generated).toEqual([]);
    expect(again.secrets).toEqual(first.secrets);
    expect(again.source.CANDID_API_KEYS).toBe("file");
  });

  test("a value in the environment wins and is never written to the file", () => {
    const stored = resolveSecrets(file, {});
    const envKey = "k".repeat(40);
    const r = resolveSecrets(file, { CANDID_API_KEYS: envKey });
    expect(r.secrets.CANDID_API_KEYS).toBe(envKey);
    expect(r.source).toEqual({ CANDID_API_KEYS: "env", CANDID_TOKEN_SECRETS: "file", CANDID_INTERNAL_TOKEN: "file" });
    expect(readFileSync(file, "utf8")).not.toContain(envKey);
    expect(JSON.parse(readFileSync(file, "utf8")).CANDID_API_KEYS).toBe(stored.secrets.CANDID_API_KEYS);
  });

  test("all three in the environment: nothing generated, no file written", () => {
    const r = resolveSecrets(file, { CANDID_API_KEYS: "a".repeat(32), CANDID_TOKEN_SECRETS: "b".repeat(32), CANDID_INTERNAL_TOKEN: "c".repeat(32) });
    expect(r.generated).toEqual([]);
    expect(() => statSync(file)).toThrow();
  });

  test("only a missing one is generated; the stored ones and unknown keys are kept", () => {
    const first = resolveSecrets(file, {});
    const { CANDID_INTERNAL_TOKEN: _dropped, ...rest } = first.secrets;
    writeFileSync(file, JSON.stringify({ ...rest, note: "kept" }), { mode: 0o644 });
    const r = resolveSecrets(file, {}, () => "x".repeat(43));
    expect(r.generated).toEqual(["CANDID_INTERNAL_TOKEN"]);
    expect(r.secrets).toEqual({ ...rest, CANDID_INTERNAL_TOKEN: "x".repeat(43) });
    expect(JSON.parse(readFileSync(file, "utf8")).note).toBe("kept");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("a broken file stops the launcher instead of being replaced (its secrets signed live tokens)", () => {
    resolveSecrets(file, {});
    writeFileSync(file, "{not json");
    expect(() => resolveSecrets(file, {})).toThrow("is not valid JSON");
    expect(readFileSync(file, "utf8")).toBe("{not json");
    writeFileSync(file, JSON.stringify({ CANDID_API_KEYS: 5 }));
    expect(() => resolveSecrets(file, {})).toThrow("CANDID_API_KEYS must be a string");
  });

  test("generated secrets are 32 random bytes", () => {
    expect(Buffer.from(generateSecret(), "base64url").length).toBe(32);
    expect(generateSecret()).not.toBe(generateSecret());
  });
});
