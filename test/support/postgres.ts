/**
 * @module test/support/postgres
 * A fresh, uniquely named database per test file on the server of TEST_DATABASE_ADMIN_URL
 * (default postgres://postgres:postgres@127.0.0.1:5432/postgres), dropped WITH (FORCE) afterwards.
 */
import postgres from "postgres";
import { testId } from "./procs";

export const DEFAULT_ADMIN_URL = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

export function adminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL || DEFAULT_ADMIN_URL;
}

export interface TestDatabase {
  /** URL of the new database (same server and credentials as the admin URL). */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new database on the server of `admin` (default: adminUrl()). */
export async function createTestDatabase(prefix = "candid_test", admin = adminUrl()): Promise<TestDatabase> {
  const name = testId(prefix).toLowerCase();
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const s = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await s.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await s.end({ timeout: 5 });
      }
    },
  };
}
