import { describe, expect, test } from "bun:test";
import { CHILD_ALLOW, childEnv } from "./child-env";

const inherited = {
  PATH: "/usr/bin",
  HOME: "/home/me",
  LOG_LEVEL: "debug",
  CANDID_API_KEYS: "key-from-env",
  CANDID_TOKEN_SECRETS: "secret-from-env",
  CANDID_INTERNAL_TOKEN: "internal-from-env",
  DATABASE_URL: "postgres://u:p@db/candid",
  S3_SECRET_ACCESS_KEY: "s3-secret",
  AWS_PROFILE: "dev",
  GATEWAY_MAX_AUDIO_BYTES: "1000",
  STORAGE_BACKEND: "s3",
  REAPER_IDLE_MS: "5",
  PUBLIC_GATEWAY_URL: "http://gw",
  SOME_OTHER_TOOL_TOKEN: "unrelated",
};

const envOf = (child: string, set: Record<string, string> = {}) => childEnv(inherited, CHILD_ALLOW[child]!, set);

describe("childEnv", () => {
  test("every child gets PATH, HOME, LOG_LEVEL and its own variables only", () => {
    expect(envOf("metadata")).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LOG_LEVEL: "debug", DATABASE_URL: "postgres://u:p@db/candid" });
    expect(envOf("storage")).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LOG_LEVEL: "debug", S3_SECRET_ACCESS_KEY: "s3-secret", AWS_PROFILE: "dev", STORAGE_BACKEND: "s3" });
    expect(envOf("gateway")).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LOG_LEVEL: "debug", GATEWAY_MAX_AUDIO_BYTES: "1000" });
    expect(envOf("reaper")).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LOG_LEVEL: "debug", REAPER_IDLE_MS: "5" });
  });

  test("secrets are never inherited, only set by the launcher where needed", () => {
    for (const child of Object.keys(CHILD_ALLOW)) {
      const env = envOf(child);
      for (const name of ["CANDID_API_KEYS", "CANDID_TOKEN_SECRETS", "CANDID_INTERNAL_TOKEN", "SOME_OTHER_TOOL_TOKEN"]) expect(env[name]).toBeUndefined();
    }
    expect(envOf("gateway", { CANDID_INTERNAL_TOKEN: "t" }).CANDID_INTERNAL_TOKEN).toBe("t");
  });

  test("the web app never sees the database, S3 or any secret it was not given; an empty value removes a variable", () => {
    const env = envOf("web", { PORT: "5173", ORIGIN: "", PUBLIC_GATEWAY_URL: "", CANDID_API_KEY: "k" });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LOG_LEVEL: "debug", PORT: "5173", CANDID_API_KEY: "k" });
  });
});
