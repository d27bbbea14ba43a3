import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { hexToBase64, normalizeSha256Hex, sha256Hex, verifySha256 } from "./checksum";

const ABC_HEX = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

describe("checksum", () => {
  test("sha256Hex of a known vector", () => {
    expect(sha256Hex(new TextEncoder().encode("abc"))).toBe(ABC_HEX);
    expect(sha256Hex(new Uint8Array())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
  test("hexToBase64", () => {
    expect(hexToBase64(ABC_HEX)).toBe("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  });
  test("verifySha256 accepts uppercase and returns lowercase", () => {
    expect(verifySha256(new TextEncoder().encode("abc"), ABC_HEX.toUpperCase())).toBe(ABC_HEX);
  });
  test("mismatch is CHECKSUM_MISMATCH, malformed hex is INVALID_MESSAGE", () => {
    const data = new TextEncoder().encode("abd");
    expect(() => verifySha256(data, ABC_HEX)).toThrow(AppError);
    try {
      verifySha256(data, ABC_HEX);
    } catch (e) {
      expect((e as AppError).code).toBe("CHECKSUM_MISMATCH");
    }
    for (const bad of ["", "xyz", ABC_HEX.slice(1), `${ABC_HEX}00`]) {
      try {
        normalizeSha256Hex(bad);
        throw new Error("expected a throw");
      } catch (e) {
        expect((e as AppError).code).toBe("INVALID_MESSAGE");
      }
    }
  });
});
