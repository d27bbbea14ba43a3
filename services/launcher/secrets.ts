/**
 * @module launcher/secrets
 * The secrets `npm start` needs, made on the first run and reused afterwards, so a fresh clone
 * works with no set-up: CANDID_API_KEYS (the operator API key the web app's server side uses),
 * CANDID_TOKEN_SECRETS (signs upload tokens) and CANDID_INTERNAL_TOKEN (internal gRPC).
 *
 * A value given in the environment always wins and is never written to disk (a second gateway
 * started by hand beside `npm start` shares the values by setting them). A missing one is taken
 * from the secrets file (./data/secrets.json), or else generated (32 random bytes, base64url:
 * visible ASCII without commas, so it fits the comma lists and an Authorization header) and
 * stored there: the file is 0600, a folder made for it 0700, written whole to a temporary file
 * and renamed.
 * A file that is not a JSON object of strings stops the launcher rather than being replaced:
 * replacing it would orphan every token signed with the old secret.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const SECRET_NAMES = ["CANDID_API_KEYS", "CANDID_TOKEN_SECRETS", "CANDID_INTERNAL_TOKEN"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export type Secrets = Readonly<Record<SecretName, string>>;

export interface ResolvedSecrets {
  secrets: Secrets;
  /** Names generated on this run (and written to the file). */
  generated: SecretName[];
  /** Where each value came from. */
  source: Readonly<Record<SecretName, "env" | "file" | "generated">>;
}

/** 32 random bytes as base64url (43 characters). */
export const generateSecret = () => randomBytes(32).toString("base64url");

/** The file's object (unknown keys kept, so rewriting it loses nothing), or {} when absent. */
function readStored(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new Error(`${file} is not valid JSON; fix or remove it (removing it invalidates every upload token)`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file} must hold a JSON object`);
  for (const [k, v] of Object.entries(parsed)) if (typeof v !== "string") throw new Error(`${file}: ${k} must be a string`);
  return parsed as Record<string, string>;
}

export function resolveSecrets(file: string, fromEnv: Partial<Record<SecretName, string | undefined>>, generate = generateSecret): ResolvedSecrets {
  const stored = readStored(file);
  const secrets = {} as Record<SecretName, string>;
  const source = {} as Record<SecretName, "env" | "file" | "generated">;
  const generated: SecretName[] = [];
  for (const name of SECRET_NAMES) {
    const env = fromEnv[name];
    if (env) [secrets[name], source[name]] = [env, "env"];
    else if (stored[name]) [secrets[name], source[name]] = [stored[name], "file"];
    else {
      [secrets[name], source[name]] = [(stored[name] = generate()), "generated"];
      generated.push(name);
    }
  }
  if (generated.length) {
    // A folder made here is 0700; an existing one (the user's choice) is left as it is.
    const created = mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    if (created) chmodSync(dirname(file), 0o700);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: "w" });
    renameSync(tmp, file);
  }
  if (existsSync(file)) chmodSync(file, 0o600);
  return { secrets, generated, source };
}
