import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { translateS3Error } from "./s3-blob-store";

const s3Error = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
const codeOf = (err: unknown) => (err instanceof AppError ? err.code : "NOT_APP_ERROR");

describe("translateS3Error", () => {
  test("a full object store (507, MinIO's XMinioStorageFull) is STORAGE_FULL, not UPSTREAM_UNAVAILABLE", () => {
    expect(codeOf(translateS3Error(s3Error("XMinioStorageFull", 507)))).toBe("STORAGE_FULL");
    expect(codeOf(translateS3Error(s3Error("InsufficientStorage", 507)))).toBe("STORAGE_FULL");
    expect(codeOf(translateS3Error(s3Error("XMinioStorageFull", 0)))).toBe("STORAGE_FULL");
  });

  test("other answers keep their mapping; one object's size is not a full store", () => {
    expect(codeOf(translateS3Error(s3Error("ServiceUnavailable", 503)))).toBe("UPSTREAM_UNAVAILABLE");
    expect(codeOf(translateS3Error(s3Error("InternalError", 500)))).toBe("UPSTREAM_UNAVAILABLE");
    expect(codeOf(translateS3Error(s3Error("NoSuchKey", 404)))).toBe("NOT_FOUND");
    expect(codeOf(translateS3Error(s3Error("EntityTooLarge", 400)))).toBe("NOT_APP_ERROR");
  });
});
