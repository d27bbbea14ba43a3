/**
 * The parameter tables of helm/candid/README.md, generated from the `## @section` / `## @param`
 * annotations of values.yaml (the format readme-generator-for-helm reads): one table per section,
 * the default as JSON, or "see values.yaml" when that is longer than 60 characters.
 *
 *   bun test/deploy/chart-readme.ts     rewrites the README from "**<first section>**" on
 *
 * chart.test.ts checks that the README holds exactly what this generates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const CHART_DIR = resolve(import.meta.dir, "../../helm/candid");

/** The tables, from the first section header to the end of the README. */
export function parameterTables(valuesText: string): string {
  const values = Bun.YAML.parse(valuesText) as Record<string, unknown>;
  const get = (path: string) => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], values);
  const out: string[] = [];
  for (const line of valuesText.split("\n")) {
    const section = /^## @section (.+)$/.exec(line);
    if (section) {
      out.push("", `**${section[1]}**`, "", "| Key | Description | Default |", "|---|---|---|");
      continue;
    }
    const param = /^\s*## @param (\S+) (.+)$/.exec(line);
    if (param) {
      const json = JSON.stringify(get(param[1]!));
      out.push(`| \`${param[1]}\` | ${param[2]!.replace(/\|/g, "\\|")} | \`${json.length > 60 ? "see values.yaml" : json}\` |`);
    }
  }
  return `${out.join("\n").slice(1)}\n`;
}

/** Where the tables start in the README (the first section's bold title). */
export function tablesStart(readme: string, valuesText: string): number {
  const first = /^## @section (.+)$/m.exec(valuesText);
  if (!first) throw new Error("values.yaml has no ## @section");
  const at = readme.indexOf(`**${first[1]}**`);
  if (at < 0) throw new Error(`README.md has no "**${first[1]}**" table`);
  return at;
}

if (import.meta.main) {
  const valuesText = readFileSync(join(CHART_DIR, "values.yaml"), "utf8");
  const file = join(CHART_DIR, "README.md");
  const readme = readFileSync(file, "utf8");
  writeFileSync(file, readme.slice(0, tablesStart(readme, valuesText)) + parameterTables(valuesText));
}
