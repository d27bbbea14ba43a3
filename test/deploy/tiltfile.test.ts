/**
 * The Tiltfile's live_update, checked against the code: deploy/kind/live-update.yaml lists, per
 * Bun service, the paths its image holds and Tilt syncs into its pod. Each service's real import
 * graph is walked from services/<svc>/main.ts (test/deploy/import-graph.ts): every file it runs
 * must be under one of its paths, and every path must hold only files it runs (a folder only when
 * the service runs all of it), so no pod is restarted by an edit to code it does not run. Also:
 * the Tiltfile really takes its lists from that file, and deploy/kind/ctlptl.yaml is the
 * cluster + registry pair the Tiltfile expects.
 *
 * Needs no tool: Tilt itself is not run here (docs/development.md says what was run by hand).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { filesUnder, importGraph, ROOT, serviceFiles } from "./import-graph";

type LiveUpdate = { ignore: string[]; services: Record<string, string[]> };

const liveUpdate = Bun.YAML.parse(readFileSync(join(ROOT, "deploy/kind/live-update.yaml"), "utf8")) as LiveUpdate;
const tiltfile = readFileSync(join(ROOT, "Tiltfile"), "utf8");
/** The deployable Bun services: a folder with a main.ts, except the single-host launcher. */
const SERVICES = readdirSync(join(ROOT, "services"))
  .filter((d) => d !== "launcher" && existsSync(join(ROOT, "services", d, "main.ts")))
  .sort();

/**
 * Services the Tiltfile and live-update.yaml already deploy whose main.ts is not in the repository
 * yet (their deployment is written alongside their code). Their import graph cannot be walked, so
 * only their paths are checked; once main.ts lands the test below fails: remove the service here
 * and the graph checks run on it.
 */
const PENDING: string[] = [];

/** Matches a repository path against one dockerignore-style pattern (`**`, `*`, or a plain path). */
function ignoredBy(pattern: string, path: string): boolean {
  const re = pattern
    .split("**/")
    .map((part) => part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*"))
    .join("(?:.*/)?");
  return new RegExp(`^${re}(?:/.*)?$`).test(path);
}
const isIgnored = (path: string) => liveUpdate.ignore.some((p) => ignoredBy(p, path));
const covers = (syncPath: string, file: string) => (syncPath.endsWith("/") ? file.startsWith(syncPath) : file === syncPath);

/** What the image of a service would hold: every non-ignored file under its paths. */
function syncedFiles(paths: string[]): string[] {
  return paths.flatMap((p) => (p.endsWith("/") ? filesUnder(p) : [p])).filter((f) => !isIgnored(f));
}

describe("the import-graph walker", () => {
  test("follows relative imports, re-exports, folder imports, the worker URL and run-time folders", () => {
    const storage = importGraph("services/storage/main.ts");
    expect(storage.files).toContain("services/storage/main.ts");
    expect(storage.files).toContain("proto/wire/index.ts"); // `from "../../proto/wire"`: a folder import
    expect(storage.files).toContain("proto/wire/sniff.ts"); // through `export * from "./sniff"` in index.ts
    expect(storage.runtimePaths).toContain("services/storage/adapters/fs-writer-worker.ts");
    expect(storage.files).toContain("services/storage/adapters/fs-writer-worker.ts");
    const metadata = importGraph("services/metadata/main.ts");
    expect(metadata.runtimePaths).toContain("services/metadata/migrations");
    expect(serviceFiles("metadata")).toContain("services/metadata/migrations/001_initial_schema.sql");
  });

  test("a service's graph stays inside its folder, services/shared and proto", () => {
    for (const svc of SERVICES) {
      const outside = serviceFiles(svc).filter((f) => !f.startsWith(`services/${svc}/`) && !f.startsWith("services/shared/") && !f.startsWith("proto/"));
      expect({ svc, outside }).toEqual({ svc, outside: [] });
    }
  });

  test("the ignore patterns match as dockerignore does", () => {
    expect(ignoredBy("**/*.test.ts", "services/gateway/core/x.test.ts")).toBe(true);
    expect(ignoredBy("**/*.test.ts", "a.test.ts")).toBe(true);
    expect(ignoredBy("**/*.test.ts", "services/gateway/core/x.ts")).toBe(false);
    expect(ignoredBy("proto/wire/arbitraries.ts", "proto/wire/arbitraries.ts")).toBe(true);
    expect(ignoredBy("proto/wire/arbitraries.ts", "proto/wire/arbitraries.tsx")).toBe(false);
  });
});

describe("deploy/kind/live-update.yaml", () => {
  test("lists exactly the deployable services, in the Tiltfile's order", () => {
    const m = tiltfile.match(/^BUN_SERVICES = \[([^\]]*)\]/m);
    expect(m).not.toBeNull();
    const tiltServices = [...m![1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]);
    expect([...tiltServices].sort()).toEqual([...SERVICES, ...PENDING].sort());
    expect(Object.keys(liveUpdate.services).sort()).toEqual([...SERVICES, ...PENDING].sort());
  });

  test("a PENDING service still has no main.ts (else: drop it from PENDING)", () => {
    expect(PENDING.filter((svc) => existsSync(join(ROOT, "services", svc, "main.ts")))).toEqual([]);
  });

  for (const svc of PENDING) {
    test(`${svc} (pending): every path exists, none is listed twice or inside another`, () => {
      const paths = liveUpdate.services[svc] ?? [];
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) expect({ p, exists: existsSync(join(ROOT, p)), isFolder: existsSync(join(ROOT, p)) && statSync(join(ROOT, p)).isDirectory() }).toEqual({ p, exists: true, isFolder: p.endsWith("/") });
      expect(paths.length - new Set(paths).size).toBe(0);
    });
  }

  for (const svc of SERVICES) {
    describe(svc, () => {
      const paths = liveUpdate.services[svc] ?? [];
      const graph = serviceFiles(svc);

      test("every file the service runs is synced and in its image", () => {
        const missing = graph.filter((f) => !paths.some((p) => covers(p, f)));
        const ignoredButRun = graph.filter(isIgnored);
        expect({ missing, ignoredButRun }).toEqual({ missing: [], ignoredButRun: [] });
      });

      test("nothing it does not run is synced", () => {
        const run = new Set(graph);
        const unrelated = syncedFiles(paths).filter((f) => !run.has(f));
        expect(unrelated).toEqual([]);
      });

      test("every path exists, none is listed twice or inside another", () => {
        for (const p of paths) {
          expect({ p, exists: existsSync(join(ROOT, p)) }).toEqual({ p, exists: true });
          expect({ p, isFolder: statSync(join(ROOT, p)).isDirectory() }).toEqual({ p, isFolder: p.endsWith("/") });
        }
        const nested = paths.filter((p) => paths.some((q) => q !== p && q.endsWith("/") && p.startsWith(q)));
        expect({ nested, duplicates: paths.length - new Set(paths).size }).toEqual({ nested: [], duplicates: 0 });
      });
    });
  }

  test("each ignored path exists and no service runs it", () => {
    const run = new Set(SERVICES.flatMap(serviceFiles));
    for (const p of liveUpdate.ignore.filter((x) => !x.includes("*"))) {
      expect({ p, exists: existsSync(join(ROOT, p)), run: run.has(p) }).toEqual({ p, exists: true, run: false });
    }
  });

  test("the web image's proto/wire/ is all the web app imports from proto/", () => {
    const webSources = filesUnder("web/src").filter((f) => /\.(ts|svelte)$/.test(f) && !isIgnored(f) && !/\.(spec|e2e)\.ts$/.test(f));
    const protoImports = webSources.flatMap((f) =>
      [...readFileSync(join(ROOT, f), "utf8").matchAll(/from\s*["']((?:\.\.\/)+proto\/[^"']+)["']/g)].map((m) => m[1]!.replace(/^(\.\.\/)+/, "")),
    );
    expect(protoImports.length).toBeGreaterThan(0);
    expect(protoImports.filter((p) => !p.startsWith("proto/wire/"))).toEqual([]);
    expect(tiltfile).toContain("'proto/wire/', 'web/'");
  });
});

describe("the Tiltfile", () => {
  test("reads its sync lists from deploy/kind/live-update.yaml and syncs each path to /app", () => {
    expect(tiltfile).toContain("LIVE_UPDATE = read_yaml('deploy/kind/live-update.yaml')");
    expect(tiltfile).toContain("paths = LIVE_UPDATE['services'][svc]");
    expect(tiltfile).toContain("only=IMAGE_BASE + paths");
    expect(tiltfile).toContain("ignore=LIVE_UPDATE['ignore']");
    expect(tiltfile).toContain("[sync('./' + p, '/app/' + p) for p in paths]");
    expect(tiltfile).toMatch(/fall_back_on\(\['package\.json', 'package-lock\.json'\]\)/);
    // No sync of a whole tree: every sync() comes from the per-service lists.
    expect([...tiltfile.matchAll(/\bsync\(/g)].length).toBe(1);
  });

  test("deploy/Dockerfile copies the synced paths to the same place under /app", () => {
    const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    for (const copied of ["proto ./proto", "services/shared ./services/shared", "services/${SERVICE} ./services/${SERVICE}"]) {
      expect(dockerfile).toContain(copied);
    }
    // the processor's own Dockerfile has the same layout, and the Tiltfile builds it
    const processor = readFileSync(join(ROOT, "deploy/processor.Dockerfile"), "utf8");
    expect(processor).toMatch(/^WORKDIR \/app$/m);
    for (const copied of ["proto ./proto", "services/shared ./services/shared", "services/processor ./services/processor"]) expect(processor).toContain(copied);
    expect(tiltfile).toContain("DOCKERFILES = {'processor': 'deploy/processor.Dockerfile'}");
  });
});

describe("deploy/kind/ctlptl.yaml", () => {
  const docs = Bun.YAML.parse(readFileSync(join(ROOT, "deploy/kind/ctlptl.yaml"), "utf8")) as Record<string, unknown>[];
  // Fields of ctlptl's v1alpha1 Cluster and Registry types (pkg/api/types.go), status aside.
  const FIELDS: Record<string, string[]> = {
    Registry: ["apiVersion", "kind", "name", "port"],
    Cluster: ["apiVersion", "kind", "name", "product", "minCPUs", "registry", "kubernetesVersion", "kindV1Alpha4Cluster"],
  };

  test("is a Registry and a kind Cluster that uses it, with ctlptl's fields only", () => {
    expect(Array.isArray(docs)).toBe(true);
    expect(docs.map((d) => d.kind).sort()).toEqual(["Cluster", "Registry"]);
    for (const d of docs) {
      expect(d.apiVersion).toBe("ctlptl.dev/v1alpha1");
      expect(Object.keys(d).filter((k) => !FIELDS[d.kind as string]!.includes(k))).toEqual([]);
    }
    const registry = docs.find((d) => d.kind === "Registry")!;
    const cluster = docs.find((d) => d.kind === "Cluster")!;
    expect(cluster.product).toBe("kind");
    expect(cluster.registry).toBe(registry.name);
    expect(Number.isInteger(registry.port)).toBe(true);
  });

  test("names the context the Tiltfile expects", () => {
    const cluster = docs.find((d) => d.kind === "Cluster")!;
    // ctlptl names a kind cluster by its kubectl context, `kind-<kind cluster name>`.
    expect(String(cluster.name)).toMatch(/^kind-[a-z0-9-]+$/);
    expect(tiltfile).toContain(`CLUSTER_CONTEXT = '${cluster.name}'`);
  });
});
