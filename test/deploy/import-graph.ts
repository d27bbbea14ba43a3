/**
 * The files a Bun service runs, found by walking its imports from `services/<svc>/main.ts`.
 *
 * Followed: relative specifiers (`./x`, `../y`) in static `import … from`, `export … from`,
 * side-effect `import "…"` and dynamic `import("…")` (`import type` too: Bun erases it, but
 * counting it only ever syncs more), plus the two ways a service reaches a file
 * at run time without importing it: `new URL("./worker.ts", import.meta.url)` (storage's write
 * worker) and `resolve(import.meta.dir, "../migrations")` (metadata's SQL folder; a folder counts
 * whole). Package imports (`@grpc/grpc-js`, `node:fs`, `bun`) come from node_modules in the image
 * and are not part of the graph. A specifier resolves as Bun does for our sources: the exact
 * file, then `.ts`, then `<dir>/index.ts`. An import that resolves to nothing throws, so a typo
 * cannot shrink the graph silently.
 *
 * Paths are repository-relative with `/` separators. Used by test/deploy/tiltfile.test.ts to check
 * the live_update sync lists in deploy/kind/live-update.json; run it to print a service's graph:
 *   bun test/deploy/import-graph.ts gateway
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");

export type ServiceGraph = {
  /** Every source file reached from main.ts, main.ts included. */
  files: string[];
  /** Files read at run time but not imported (workers, folders of SQL), each as found. */
  runtimePaths: string[];
};

// Comments are stripped before matching so that an import shown in a doc comment is not followed.
const COMMENTS = /\/\*[\s\S]*?\*\/|(^|[^:"'`\\])\/\/[^\n]*/g;
const IMPORT_SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\sfrom\s*["']([^"']+)["']/g, // import x from "…", export * from "…"
  /\bimport\s*["']([^"']+)["']/g, // import "…"
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // import("…")
];
const RUNTIME_SPECIFIERS = [
  /new\s+URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  /resolve\(\s*import\.meta\.dir\s*,\s*["']([^"']+)["']\s*\)/g,
];

function toRepoPath(abs: string): string {
  return relative(ROOT, abs).split(sep).join("/");
}

function resolveSource(fromFile: string, spec: string): string {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${toRepoPath(fromFile)}: import "${spec}" resolves to no file`);
}

function specifiers(source: string, patterns: RegExp[]): string[] {
  const code = source.replace(COMMENTS, "$1");
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

/** Walks the graph from one entry file (absolute or repository-relative). */
export function importGraph(entry: string): ServiceGraph {
  const files = new Set<string>();
  const runtimePaths = new Set<string>();
  const pending = [resolve(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, "utf8");
    for (const spec of specifiers(source, IMPORT_SPECIFIERS)) {
      if (spec.startsWith("./") || spec.startsWith("../")) pending.push(resolveSource(file, spec));
    }
    for (const spec of specifiers(source, RUNTIME_SPECIFIERS)) {
      const target = resolve(dirname(file), spec);
      if (!existsSync(target)) throw new Error(`${toRepoPath(file)}: run-time path "${spec}" does not exist`);
      runtimePaths.add(target);
      // A worker is a module too: its imports belong to the service.
      if (statSync(target).isFile() && target.endsWith(".ts")) pending.push(target);
    }
  }
  return { files: [...files].map(toRepoPath).sort(), runtimePaths: [...runtimePaths].map(toRepoPath).sort() };
}

/** Every file under a repository-relative folder, recursively, as repository-relative paths. */
export function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => toRepoPath(join(e.parentPath, e.name)))
    .sort();
}

/** The graph of `services/<svc>/main.ts`, with run-time folders expanded to their files. */
export function serviceFiles(svc: string): string[] {
  const g = importGraph(`services/${svc}/main.ts`);
  const all = new Set(g.files);
  for (const p of g.runtimePaths) {
    if (statSync(join(ROOT, p)).isDirectory()) for (const f of filesUnder(p)) all.add(f);
    else all.add(p);
  }
  return [...all].sort();
}

if (import.meta.main) {
  const svc = process.argv[2];
  if (!svc) {
    console.error("usage: bun test/deploy/import-graph.ts <gateway|storage|metadata|reaper>");
    process.exit(2);
  }
  for (const f of serviceFiles(svc)) console.log(f);
}
