/**
 * Tilt's own reading of the Tiltfile, without a cluster: run by hand where a `tilt` binary exists
 * (not part of `npm test`, since building Tilt from source takes about 5 minutes):
 *   bun test/deploy/tilt-check.ts [path/to/tilt]        (default: tilt on PATH)
 *
 * It runs `tilt alpha tiltfile-result` with a throwaway kubeconfig whose only context is the one
 * deploy/kind/ctlptl.yaml creates (its server is never contacted), then checks that each Bun
 * image's live_update syncs, their destinations under /app, the fall-back paths and the build
 * context are exactly what deploy/kind/live-update.yaml lists. Exit 0 when they are, 1 when not,
 * printing each difference.
 *
 * TILT_EXTENSIONS_DIR=/path/to/a/copy/of/tilt-extensions loads `ext://` extensions from that copy
 * (a wrapper Tiltfile registers it as the default extension repo and includes ours), for machines
 * that cannot reach GitHub.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./import-graph";

type Sync = { localPath: string; containerPath: string };
type ImageTarget = {
  selector: string;
  LiveUpdateSpec: { syncs?: Sync[]; stopPaths?: string[] };
  BuildDetails: { contextIgnores?: { patterns?: string[] }[] };
};
type TiltfileResult = { Manifests: { Name: string; ImageTargets: ImageTarget[] | null }[] };

const IMAGE_BASE = ["package.json", "package-lock.json", "tsconfig.json", "bunfig.toml"];
const tilt = process.argv[2] ?? "tilt";
const liveUpdate = Bun.YAML.parse(readFileSync(join(ROOT, "deploy/kind/live-update.yaml"), "utf8")) as { services: Record<string, string[]> };
const ctlptl = Bun.YAML.parse(readFileSync(join(ROOT, "deploy/kind/ctlptl.yaml"), "utf8")) as { kind: string; name?: string }[];
const context = ctlptl.find((d) => d.kind === "Cluster")!.name!;

const dir = mkdtempSync(join(tmpdir(), "candid-tilt-check-"));
try {
  writeFileSync(
    join(dir, "kubeconfig"),
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: context, cluster: { server: "https://127.0.0.1:1" } }],
      contexts: [{ name: context, context: { cluster: context, user: context } }],
      users: [{ name: context, user: { token: "unused" } }],
      "current-context": context,
    }),
  );
  let tiltfile = join(ROOT, "Tiltfile");
  const extensions = process.env.TILT_EXTENSIONS_DIR;
  if (extensions) {
    tiltfile = join(dir, "Tiltfile");
    writeFileSync(tiltfile, `v1alpha1.extension_repo(name='default', url='file://${extensions}')\ninclude('${join(ROOT, "Tiltfile")}')\n`);
  }
  const cmd = [tilt, "alpha", "tiltfile-result", "-f", tiltfile];
  const started = performance.now();
  const p = Bun.spawnSync(cmd, { cwd: ROOT, env: { ...process.env, KUBECONFIG: join(dir, "kubeconfig") }, stdout: "pipe", stderr: "pipe" });
  console.log(`${cmd.join(" ")}: exit ${p.exitCode} in ${Math.round(performance.now() - started)} ms`);
  if (p.exitCode !== 0) {
    console.error(p.stderr.toString());
    process.exit(1);
  }
  const result = JSON.parse(p.stdout.toString()) as TiltfileResult;
  console.log(`manifests: ${result.Manifests.map((m) => m.Name).join(" ")}`);

  const problems: string[] = [];
  const seen = new Set<string>();
  for (const target of result.Manifests.flatMap((m) => m.ImageTargets ?? [])) {
    const svc = target.selector.replace(/^candid\//, "");
    const want = liveUpdate.services[svc];
    if (!want) continue; // the web image has no live_update
    seen.add(svc);
    const syncs = target.LiveUpdateSpec.syncs ?? [];
    // Tilt drops a folder's trailing slash from localPath and keeps it on containerPath.
    const got = syncs.map((s) => s.localPath + (s.containerPath.endsWith("/") ? "/" : ""));
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${svc}: syncs ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    for (const s of syncs) {
      const dest = `/app/${s.localPath}${s.containerPath.endsWith("/") ? "/" : ""}`;
      if (s.containerPath !== dest) problems.push(`${svc}: ${s.localPath} syncs to ${s.containerPath}, expected ${dest}`);
    }
    const stop = target.LiveUpdateSpec.stopPaths ?? [];
    if (JSON.stringify(stop) !== JSON.stringify(["package.json", "package-lock.json"])) problems.push(`${svc}: fall_back_on ${JSON.stringify(stop)}`);
    // docker_build(only=…) becomes an ignore list of `**` followed by `!<path>` for each entry.
    const only = target.BuildDetails.contextIgnores?.find((c) => c.patterns?.[0] === "**")?.patterns?.slice(1).map((x) => x.replace(/^!/, ""));
    if (JSON.stringify(only) !== JSON.stringify([...IMAGE_BASE, ...want])) problems.push(`${svc}: build context ${JSON.stringify(only)}`);
    console.log(`${svc}: ${syncs.length} syncs`);
  }
  for (const svc of Object.keys(liveUpdate.services)) if (!seen.has(svc)) problems.push(`${svc}: no image target in the Tiltfile result`);
  for (const problem of problems) console.error(problem);
  console.log(problems.length === 0 ? "every Bun image syncs and builds exactly its list in deploy/kind/live-update.yaml" : `${problems.length} differences`);
  process.exitCode = problems.length === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
