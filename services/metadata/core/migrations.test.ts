import { expect, test } from "bun:test";
import { parseMigrationFiles, pendingMigrations } from "./migrations";

test("parses, orders and filters migrations", () => {
  const all = parseMigrationFiles(["002_add_x.sql", "README.md", "001_initial_schema.sql", "010_more.sql"]);
  expect(all.map((m) => [m.version, m.name])).toEqual([
    [1, "initial_schema"],
    [2, "add_x"],
    [10, "more"],
  ]);
  expect(pendingMigrations(all, [1, 2]).map((m) => m.version)).toEqual([10]);
  expect(pendingMigrations(all, [1, 2, 10])).toEqual([]);
});

test("rejects malformed names and duplicate versions", () => {
  expect(() => parseMigrationFiles(["1_x.sql"])).toThrow(/malformed/);
  expect(() => parseMigrationFiles(["001_A.sql"])).toThrow(/malformed/);
  expect(() => parseMigrationFiles(["001_a.sql", "001_b.sql"])).toThrow(/duplicate/);
});

test("the shipped migrations parse", async () => {
  const { readdirSync } = await import("node:fs");
  const files = readdirSync(new URL("../migrations", import.meta.url));
  expect(parseMigrationFiles(files).length).toBeGreaterThan(0);
});
