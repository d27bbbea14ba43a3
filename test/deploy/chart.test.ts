/**
 * The Helm chart, checked offline: `helm lint --strict`, `helm template` with the default values,
 * the production-shaped values (S3 + ServiceMonitor + PrometheusRule + dashboard + Ingress) and
 * the kind/Tilt values; every rendered object validated against the Kubernetes (and
 * prometheus-operator) schemas with kubernetes-models; invariants every Deployment must keep;
 * the alert rules through `promtool check rules` and `promtool test rules`; the dashboard's
 * queries against the metrics the services export.
 *
 * Needs helm in ${CANDID_TOOLS_DIR:-~/.cache/candid-tools} and promtool on PATH: run
 * `bash test/install-tools.sh`. A missing tool fails the tests, it never skips them.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import { createApiKeyChecker } from "../../services/gateway/core/api-keys";
import { createHttpHandler } from "../../services/gateway/adapters/http";
import { createReviewRoutes } from "../../services/gateway/adapters/http-review";
import { Review, type ReviewPorts } from "../../services/gateway/core/review";
import { gatewayMetrics } from "../../services/gateway/adapters/metrics";
import { MEDIA_STREAM_PATH } from "../../services/gateway/adapters/ws-server";
import { gatewayConfigShape, loadGatewayConfig } from "../../services/gateway/config";
import { metadataMetrics } from "../../services/metadata/adapters/metrics";
import { reaperMetrics } from "../../services/reaper/adapters/metrics";
import { loadReaperConfig, reaperConfigShape } from "../../services/reaper/config";
import { AppError } from "../../services/shared/errors";
import { createLogger } from "../../services/shared/log";
import { createRegistry, seriesNames, serveOpsHttp } from "../../services/shared/metrics";
import { storageMetrics } from "../../services/storage/adapters/metrics";
import { parameterTables, tablesStart } from "./chart-readme";

const ROOT = resolve(import.meta.dir, "../..");
const CHART = join(ROOT, "helm/candid");
/** Every values file in helm/candid/ci/ (one per major option set), relative to ROOT. */
const CI_VALUES = readdirSync(join(CHART, "ci")).filter((f) => f.endsWith(".yaml")).sort().map((f) => `helm/candid/ci/${f}`);
const TOOLS_DIR = process.env.CANDID_TOOLS_DIR || join(homedir(), ".cache/candid-tools");
const HELM = join(TOOLS_DIR, "helm");
const INSTALL_HINT = "run `bash test/install-tools.sh` (it builds helm with `go install` and installs promtool)";

/**
 * The processor's metric declarations, once services/processor/adapters/metrics.ts exists (it is
 * being written alongside the chart's processor); until then the dashboard and rules are checked
 * against DECLARED_SERIES.processor, the names its specification lists.
 */
const PROCESSOR_METRICS_FILE = join(resolve(import.meta.dir, "../.."), "services/processor/adapters/metrics.ts");
const processorMetrics: ((registry: ReturnType<typeof createRegistry>) => unknown) | undefined = existsSync(PROCESSOR_METRICS_FILE)
  ? (await import(PROCESSOR_METRICS_FILE)).processorMetrics
  : undefined;
if (existsSync(PROCESSOR_METRICS_FILE) && typeof processorMetrics !== "function") throw new Error(`${PROCESSOR_METRICS_FILE} exports no processorMetrics`);

/**
 * Series of services whose registries this test cannot build: the transcriber is Python
 * (services/transcriber, prometheus_client), and the processor's until its metrics.ts exists.
 * Taken from their specifications; a histogram lists its three series.
 */
const hist = (n: string) => [`${n}_bucket`, `${n}_sum`, `${n}_count`];
const DECLARED_SERIES: Record<string, string[]> = {
  processor: ["candid_processor_items_total", ...hist("candid_processor_item_duration_seconds"), "candid_processor_claimed_items_total", "candid_processor_in_flight", "candid_processor_claim_failures_total"],
  transcriber: ["candid_transcriber_requests_total", ...hist("candid_transcriber_request_duration_seconds"), "candid_transcriber_audio_seconds_total"],
};

/** Every series the Bun services export, read from their registries (as their main.ts builds them), and the declared ones. */
function exportedSeries(): Set<string> {
  const services: Record<string, (r: ReturnType<typeof createRegistry>) => unknown> = { gateway: gatewayMetrics, storage: storageMetrics, metadata: metadataMetrics, reaper: reaperMetrics };
  if (processorMetrics) services.processor = processorMetrics;
  const names = Object.entries(services).flatMap(([service, define]) => {
    const registry = createRegistry(service);
    define(registry);
    return seriesNames(registry);
  });
  const declared = Object.entries(DECLARED_SERIES).flatMap(([service, series]) => (services[service] ? [] : series));
  return new Set([...names, ...declared]);
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

function run(cmd: string[], opts: { allowFail?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const out = { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  if (out.code !== 0 && !opts.allowFail) throw new Error(`${cmd.join(" ")} exited ${out.code}:\n${out.stderr}${out.stdout}`);
  return out;
}

function helm(args: string[], opts: { allowFail?: boolean } = {}) {
  if (!existsSync(HELM)) throw new Error(`helm not found at ${HELM}: ${INSTALL_HINT}`);
  return run([HELM, ...args], opts);
}

function promtool(args: string[]) {
  if (!Bun.which("promtool")) throw new Error(`promtool not found on PATH: ${INSTALL_HINT}`);
  return run(["promtool", ...args]);
}

function render(valuesFiles: string[] = [], sets: string[] = []): K8sObject[] {
  const args = ["template", "candid", CHART, "--namespace", "media"];
  for (const f of valuesFiles) args.push("-f", join(ROOT, f));
  for (const s of sets) args.push("--set", s);
  const { stdout } = helm(args);
  const docs = Bun.YAML.parse(stdout) as unknown;
  const list = (Array.isArray(docs) ? docs : [docs]).filter((d): d is K8sObject => d !== null && typeof d === "object");
  expect(list.length).toBeGreaterThan(0);
  return list;
}

/** Every kind the chart may render, with its schema model. An unknown kind fails the test. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

function validateAll(objects: K8sObject[]) {
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}`;
    const Model = MODELS[key];
    if (!Model) throw new Error(`no schema model for ${key} (${o.metadata?.name}): add it to MODELS`);
    try {
      new Model(o).validate();
    } catch (e) {
      throw new Error(`${key} ${o.metadata.name} is invalid: ${(e as Error).message}`);
    }
    expect(o.metadata.namespace ?? "media").toBe("media");
  }
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not rendered`);
  return o;
};
const container = (d: K8sObject) => d.spec.template.spec.containers[0];
const envOf = (objs: K8sObject[], d: K8sObject): Record<string, unknown> => {
  const c = container(d);
  const out: Record<string, unknown> = {};
  for (const ref of c.envFrom ?? []) Object.assign(out, find(objs, "ConfigMap", ref.configMapRef.name).data);
  for (const e of c.env ?? []) out[e.name] = e.value ?? e.valueFrom;
  return out;
};

/** What every Deployment of the chart must keep, whatever the values. */
function checkDeploymentInvariants(objs: K8sObject[], opts: { readOnlyRoot: boolean }) {
  const deployments = byKind(objs, "Deployment");
  expect(deployments.length).toBeGreaterThan(0);
  for (const d of deployments) {
    const name = d.metadata.name;
    const pod = d.spec.template.spec;
    const labels = d.spec.template.metadata.labels;
    // selector selects the pod template
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(labels[k], `${name} selector ${k}`).toBe(v as string);
    for (const k of ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"]) {
      expect(d.metadata.labels?.[k], `${name} label ${k}`).toBeTruthy();
    }
    expect(pod.securityContext?.runAsNonRoot, `${name} pod runAsNonRoot`).toBe(true);
    expect(pod.automountServiceAccountToken, `${name} automountServiceAccountToken`).toBe(false);
    for (const c of pod.containers) {
      const where = `${name}/${c.name}`;
      const ports = new Set((c.ports ?? []).map((p: { name: string }) => p.name));
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        expect(c[probe]?.httpGet, `${where} ${probe}`).toBeDefined();
        expect(ports.has(c[probe].httpGet.port), `${where} ${probe} port ${c[probe].httpGet.port} is a named container port`).toBe(true);
      }
      expect(c.livenessProbe.httpGet.path, `${where} liveness path`).toBe("/healthz");
      expect(c.startupProbe.httpGet, `${where} startup probe = liveness check`).toEqual(c.livenessProbe.httpGet);
      // every Bun service is probed on its ops port (the gateway's public port is for clients)
      if (c.name !== "web") for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(c[probe].httpGet.port, `${where} ${probe} on the ops port`).toBe("metrics");
      // the web server has no dependency to wait for: ready as soon as it serves
      expect(c.readinessProbe.httpGet.path, `${where} readiness path`).toBe(c.name === "web" ? "/healthz" : "/readyz");
      expect(c.resources?.requests?.cpu, `${where} cpu request`).toBeTruthy();
      expect(c.resources?.requests?.memory, `${where} memory request`).toBeTruthy();
      expect(c.resources?.limits?.memory, `${where} memory limit`).toBeTruthy();
      const sc = c.securityContext ?? {};
      expect(sc.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
      expect(sc.runAsUser, `${where} runAsUser`).toBeGreaterThan(0);
      expect(sc.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
      expect(sc.capabilities?.drop, `${where} drops capabilities`).toContain("ALL");
      expect(sc.readOnlyRootFilesystem === true, `${where} readOnlyRootFilesystem`).toBe(opts.readOnlyRoot);
      // with a read-only root, /tmp must be a volume
      expect(c.volumeMounts?.some((m: { mountPath: string }) => m.mountPath === "/tmp"), `${where} /tmp mount`).toBe(true);
      expect(c.image, `${where} image`).toMatch(/^[\w./-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/);
    }
  }
}

/** Every Service selects pods of some Deployment and targets ports those pods declare. */
function checkServicesResolve(objs: K8sObject[]) {
  for (const s of byKind(objs, "Service")) {
    const target = byKind(objs, "Deployment").find((d) =>
      Object.entries(s.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
    );
    expect(target, `Service ${s.metadata.name} selects a Deployment`).toBeDefined();
    const names = new Set(container(target!).ports.map((p: { name: string }) => p.name));
    for (const p of s.spec.ports) expect(names.has(p.targetPort), `Service ${s.metadata.name} targetPort ${p.targetPort}`).toBe(true);
  }
}

/** host:port env values point at a rendered Service port. */
function checkAddr(objs: K8sObject[], addr: unknown) {
  const [host, port] = String(addr).split(":");
  const svc = find(objs, "Service", host!);
  expect(svc.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(port));
}

describe("helm/candid", () => {
  test("helm lint --strict and helm template pass with the default values, every ci/ values file and the kind values", () => {
    expect(CI_VALUES).toEqual(expect.arrayContaining(["helm/candid/ci/production-values.yaml", "helm/candid/ci/fs-single-node-values.yaml", "helm/candid/ci/scheduling-values.yaml"]));
    helm(["lint", "--strict", CHART]);
    for (const f of [...CI_VALUES, "deploy/kind-values.yaml"]) {
      helm(["lint", "--strict", CHART, "-f", join(ROOT, f)]);
      const objs = render([f]);
      validateAll(objs);
      checkDeploymentInvariants(objs, { readOnlyRoot: f !== "deploy/kind-values.yaml" });
      checkServicesResolve(objs);
    }
  });

  test("default values: fs backend on a PVC, existing database Secret, valid objects, hardened pods", () => {
    const objs = render();
    validateAll(objs);
    expect(byKind(objs, "Deployment").map((d) => d.metadata.name).sort()).toEqual(["candid-gateway", "candid-metadata", "candid-processor", "candid-reaper", "candid-storage", "candid-transcriber", "candid-web"]);
    checkDeploymentInvariants(objs, { readOnlyRoot: true });
    checkServicesResolve(objs);
    // nothing optional is on by default
    for (const k of ["ServiceMonitor", "PrometheusRule", "Ingress"]) expect(byKind(objs, k), k).toEqual([]);

    const storage = find(objs, "Deployment", "candid-storage");
    const senv = envOf(objs, storage);
    expect(senv.STORAGE_BACKEND).toBe("fs");
    expect(senv.MEDIA_STORAGE_DIR).toBe("/var/lib/candid/media");
    expect(senv.STORAGE_GRPC_ADDR).toBe("0.0.0.0:50051");
    expect(storage.spec.strategy.type).toBe("Recreate");
    const pvc = find(objs, "PersistentVolumeClaim", "candid-storage");
    expect(pvc.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(storage.spec.template.spec.volumes.find((v: { name: string }) => v.name === "media").persistentVolumeClaim.claimName).toBe("candid-storage");

    const genv = envOf(objs, find(objs, "Deployment", "candid-gateway"));
    expect(genv.GATEWAY_PORT).toBe("8000");
    checkAddr(objs, genv.STORAGE_ADDR);
    checkAddr(objs, genv.METADATA_ADDR);
    checkAddr(objs, envOf(objs, find(objs, "Deployment", "candid-reaper")).METADATA_ADDR);

    const menv = envOf(objs, find(objs, "Deployment", "candid-metadata"));
    expect(menv.DATABASE_URL).toEqual({ secretKeyRef: { name: "candid-database", key: "database-url" } });

    const renv = envOf(objs, find(objs, "Deployment", "candid-reaper"));
    expect(renv).toMatchObject({ REAPER_INTERVAL_MS: "30000", REAPER_IDLE_MS: "300000", REAPER_BATCH_LIMIT: "1000", REAPER_METRICS_PORT: "9103" });
    checkAddr(objs, renv.STORAGE_ADDR);
    // the orphan sweeper's settings render to what loadReaperConfig accepts, with its defaults
    expect(renv).toMatchObject({ REAPER_ORPHAN_SWEEP: "true", REAPER_ORPHAN_GRACE_MS: "3600000", REAPER_ORPHAN_INTERVAL_MS: "600000", REAPER_ORPHAN_PAGE_SIZE: "500", REAPER_ORPHAN_DRY_RUN: "false" });
    const rc = loadReaperConfig({ ...(Object.fromEntries(Object.entries(renv).filter(([, v]) => typeof v === "string")) as Record<string, string>), CANDID_INTERNAL_TOKEN: "t".repeat(32) });
    expect(rc).toMatchObject({ orphanSweep: true, orphanGraceMs: 3_600_000, orphanIntervalMs: 600_000, orphanPageSize: 500, orphanDryRun: false });

    const pdb = find(objs, "PodDisruptionBudget", "candid-gateway");
    expect(pdb.spec.minAvailable).toBe(1);
    // scrape annotations on every Bun service pod, pointing at a declared port
    for (const name of ["candid-gateway", "candid-storage", "candid-metadata", "candid-reaper", "candid-processor", "candid-transcriber"]) {
      const d = find(objs, "Deployment", name);
      const ann = d.spec.template.metadata.annotations;
      expect(ann["prometheus.io/scrape"], name).toBe("true");
      expect(container(d).ports.map((p: { containerPort: number }) => String(p.containerPort))).toContain(ann["prometheus.io/port"]);
    }
  });

  test("production values: S3 with an existing Secret, ServiceMonitor, rules, dashboard, ingress", () => {
    const objs = render(["helm/candid/ci/s3-monitoring-values.yaml"]);
    validateAll(objs);
    checkDeploymentInvariants(objs, { readOnlyRoot: true });
    checkServicesResolve(objs);
    expect(byKind(objs, "PersistentVolumeClaim")).toEqual([]);

    const storage = find(objs, "Deployment", "candid-storage");
    const senv = envOf(objs, storage);
    expect(senv).toMatchObject({ STORAGE_BACKEND: "s3", S3_BUCKET: "candid-media", S3_PREFIX: "prod/", S3_REGION: "eu-west-1", S3_FORCE_PATH_STYLE: "false" });
    expect(senv.MEDIA_STORAGE_DIR).toBeUndefined();
    expect(senv.S3_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: "candid-s3", key: "access-key-id" } });
    expect(senv.S3_SECRET_ACCESS_KEY).toEqual({ secretKeyRef: { name: "candid-s3", key: "secret-access-key" } });
    expect(storage.spec.strategy.type).toBe("RollingUpdate");
    expect(container(storage).image).toBe("registry.example.com/candid/storage:1.2.3");
    expect(storage.spec.template.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(envOf(objs, find(objs, "Deployment", "candid-metadata")).DATABASE_URL).toEqual({ secretKeyRef: { name: "candid-db", key: "url" } });
    expect(byKind(objs, "Secret")).toEqual([]);
    expect(find(objs, "PodDisruptionBudget", "candid-gateway").spec).toMatchObject({ maxUnavailable: 1 });

    // The ServiceMonitor reaches every component with metrics, on the `metrics` (ops) port of
    // one of its Services, and on nothing else.
    const sm = find(objs, "ServiceMonitor", "candid");
    expect(sm.metadata.labels?.release).toBe("kube-prometheus-stack");
    const components: string[] = sm.spec.selector.matchExpressions[0].values;
    expect(sm.spec.endpoints.map((e: { port: string; path: string }) => `${e.port} ${e.path}`)).toEqual(["metrics /metrics"]);
    for (const c of ["gateway", "storage", "metadata", "reaper", "processor", "transcriber"]) {
      expect(components).toContain(c);
      const scraped = byKind(objs, "Service").filter((svc) => svc.metadata.labels?.["app.kubernetes.io/component"] === c && svc.spec.ports.some((p: { name: string }) => p.name === "metrics"));
      expect(scraped.length, `a Service of ${c} exposes the metrics port`).toBe(1);
    }
    expect(components).not.toContain("web");
    // the gateway's public Service (possibly a LoadBalancer) carries no ops port
    expect(find(objs, "Service", "candid-gateway").spec.ports.map((p: { name: string }) => p.name)).toEqual(["http"]);

    // Dashboard ConfigMap carries the file verbatim, with the sidecar label.
    const dash = find(objs, "ConfigMap", "candid-dashboard");
    expect(dash.metadata.labels?.grafana_dashboard).toBe("1");
    expect(JSON.parse(dash.data!["candid.json"]!)).toEqual(JSON.parse(readFileSync(join(CHART, "dashboards/candid.json"), "utf8")));

    const ing = find(objs, "Ingress", "candid");
    const paths = ing.spec.rules[0].http.paths.map((p: { path: string; backend: { service: { name: string } } }) => `${p.path}->${p.backend.service.name}`);
    expect(paths).toEqual(["/ws->candid-gateway", "/sessions->candid-gateway",
      "/interview-sessions->candid-gateway", "/reviewer-tokens->candid-gateway", "/->candid-web"]);
  });

  test("rendered PrometheusRule passes promtool check rules; rule unit tests pass", () => {
    const objs = render(["helm/candid/ci/s3-monitoring-values.yaml"]);
    const rule = find(objs, "PrometheusRule", "candid");
    const dir = mkdtempSync(join(tmpdir(), "candid-rules-"));
    try {
      const file = join(dir, "rendered.rules.json");
      // JSON is YAML: promtool reads the spec exactly as the operator will load it.
      writeFileSync(file, JSON.stringify(rule.spec));
      const out = promtool(["check", "rules", file]);
      expect(out.stdout + out.stderr).toContain("SUCCESS");
      const groups = rule.spec.groups as Array<{ rules: Array<{ alert?: string }> }>;
      expect(groups.flatMap((g) => g.rules).filter((r) => r.alert).length).toBeGreaterThanOrEqual(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const t = run(["promtool", "test", "rules", "candid.rules.test.yaml"].map((a, i) => (i === 3 ? join(CHART, "rules", a) : a)));
    expect(t.stdout + t.stderr).toContain("SUCCESS");
  });

  test("kind values (Tilt): S3 on MinIO, chart-managed database Secret, bun --watch, writable root", () => {
    const objs = render(["deploy/kind-values.yaml"]);
    validateAll(objs);
    checkDeploymentInvariants(objs, { readOnlyRoot: false });
    checkServicesResolve(objs);
    const secret = find(objs, "Secret", "candid-database");
    expect(Buffer.from(secret.data!["database-url"]!, "base64").toString()).toBe("postgres://postgres:candid-dev@postgresql:5432/candid");
    expect(container(find(objs, "Deployment", "candid-gateway")).args).toEqual(["--watch", "services/gateway/main.ts"]);
    expect(byKind(objs, "PodDisruptionBudget")).toEqual([]);
    // Tilt's docker_build names must match the images the chart uses.
    const tiltfile = readFileSync(join(ROOT, "Tiltfile"), "utf8");
    for (const d of byKind(objs, "Deployment")) {
      const repo = container(d).image.split(":")[0];
      const inTilt = tiltfile.includes(`'${repo}'`) || (repo.startsWith("candid/") && tiltfile.includes("'candid/' + svc") && ["gateway", "storage", "metadata", "reaper", "processor"].includes(repo.slice(7)));
      expect(inTilt, `Tiltfile builds ${repo}`).toBe(true);
      expect(tiltfile).toContain(`k8s_resource('${d.metadata.name}'`);
    }
  });

  test("invalid values are refused with a message saying what to set", () => {
    const bad = (sets: string[]) => helm(["template", "candid", CHART, ...sets.flatMap((s) => ["--set", s])], { allowFail: true });
    let r = bad(["storage.backend=nfs"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("storage/backend");
    r = bad(["storage.backend=s3"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("storage.s3.bucket");
    r = bad(["metadata.database.existingSecret="]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("metadata.database");
    // fs is the single-node backend: the schema refuses a second replica, whatever the volume
    for (const sets of [["storage.replicaCount=2"], ["storage.replicaCount=2", "storage.persistence.accessModes={ReadWriteMany}"], ["storage.replicaCount=3", "storage.persistence.enabled=false"]]) {
      r = bad(sets);
      expect(r.code, sets.join(" ")).not.toBe(0);
      expect(r.stderr).toContain("at '/storage/backend': value must be 's3'");
      expect(r.stderr).toContain("at '/storage/replicaCount': maximum: got");
    }
    r = bad(["reaper.idleMs=abc"]);
    expect(r.code).not.toBe(0);
  });

  test("optional parts switch off cleanly", () => {
    const objs = render([], ["reaper.enabled=false", "web.enabled=false", "processor.enabled=false", "transcriber.enabled=false", "gateway.pdb.create=false", "metrics.podAnnotations=false", "storage.persistence.enabled=false"]);
    validateAll(objs);
    expect(byKind(objs, "Deployment").map((d) => d.metadata.name).sort()).toEqual(["candid-gateway", "candid-metadata", "candid-storage"]);
    expect(byKind(objs, "PodDisruptionBudget")).toEqual([]);
    expect(byKind(objs, "PersistentVolumeClaim")).toEqual([]);
    const storage = find(objs, "Deployment", "candid-storage");
    expect(storage.spec.template.spec.volumes.find((v: { name: string }) => v.name === "media").emptyDir).toEqual({});
    for (const d of byKind(objs, "Deployment")) expect(d.spec.template.metadata.annotations?.["prometheus.io/scrape"]).toBeUndefined();
  });

  test("every values.yaml key is documented with ## @param, and every @param exists", () => {
    const text = readFileSync(join(CHART, "values.yaml"), "utf8");
    const documented = new Set([...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]!));
    const values = Bun.YAML.parse(text) as Record<string, unknown>;
    const leaves: string[] = [];
    const walk = (o: unknown, path: string) => {
      if (o && typeof o === "object" && !Array.isArray(o) && Object.keys(o).length > 0 && !documented.has(path)) {
        for (const [k, v] of Object.entries(o)) walk(v, path ? `${path}.${k}` : k);
      } else leaves.push(path);
    };
    walk(values, "");
    const undocumented = leaves.filter((p) => !documented.has(p));
    expect(undocumented).toEqual([]);
    const get = (p: string) => p.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], values);
    expect([...documented].filter((p) => get(p) === undefined)).toEqual([]);
    expect(text).toMatch(/^## @section /m);
    // the README's parameter tables are what the annotations generate (bun test/deploy/chart-readme.ts)
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    expect([...documented].filter((p) => !readme.includes(`| \`${p}\` |`))).toEqual([]);
    expect(readme.slice(tablesStart(readme, text))).toBe(parameterTables(text));
  });

  test("the schema validation is not vacuous: a broken Deployment and an unknown kind are rejected", () => {
    const objs = render();
    const d = structuredClone(find(objs, "Deployment", "candid-gateway"));
    d.spec.replicas = "two";
    expect(() => validateAll([d])).toThrow(/replicas/);
    const cm = structuredClone(find(objs, "ConfigMap", "candid-gateway"));
    expect(() => validateAll([{ ...cm, kind: "CronTab", apiVersion: "stable.example.com/v1" }])).toThrow(/no schema model/);
  });

  test("the dashboard and the alert rules query only metrics the services export", () => {
    const dash = JSON.parse(readFileSync(join(CHART, "dashboards/candid.json"), "utf8"));
    const known = exportedSeries();
    const exprs: string[] = dash.panels.flatMap((p: { targets?: Array<{ expr: string }> }) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(exprs.flatMap((e) => e.match(/candid_[a-z0-9_]+/g) ?? []));
    expect([...used].filter((m) => !known.has(m))).toEqual([]);
    for (const m of ["candid_gateway_ack_latency_seconds_bucket", "candid_gateway_errors_total", "candid_gateway_connections", "candid_storage_put_duration_seconds_bucket", "candid_metadata_commit_duration_seconds_bucket"]) {
      expect(used.has(m), m).toBe(true);
    }
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    // the rules' expressions too (recording rules, candid:…, are not metrics of a service)
    const rules = Bun.YAML.parse(readFileSync(join(CHART, "rules/candid.rules.yaml"), "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(ruleExprs.length).toBeGreaterThan(5);
    const inRules = new Set(ruleExprs.flatMap((e) => e.match(/candid_[a-z0-9_]+/g) ?? []));
    expect([...inRules].filter((m) => !known.has(m))).toEqual([]);
  });

  test("deployment needs helm only: no kustomization anywhere in deploy/ or helm/", () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/^kustomization\.ya?ml$|^Kustomization$/.test(e.name)) found.push(p);
      }
    };
    walk(join(ROOT, "deploy"));
    walk(join(ROOT, "helm"));
    expect(found).toEqual([]);
    // and the rendered manifests contain no leftover template markers
    const { stdout } = helm(["template", "candid", CHART]);
    expect(stdout.match(/\{\{|<no value>/g) ?? []).toEqual([]);
  });
});

/** The labels of a Deployment's pods. */
const podLabels = (d: K8sObject): Record<string, string> => d.spec.template.metadata.labels;
const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/**
 * May a pod with `from` labels (in the release namespace, or Prometheus in another namespace
 * when `fromOtherNamespace`) reach the named port of `to`'s pods, by the rendered policies?
 */
function allowed(objs: K8sObject[], from: Record<string, string>, to: K8sObject, port: string, fromOtherNamespace = false): boolean {
  const policies = byKind(objs, "NetworkPolicy").filter((p) => selects(p.spec.podSelector, podLabels(to)));
  if (policies.length === 0) return true;
  return policies.some((p) =>
    (p.spec.ingress ?? []).some((rule: { from?: Array<{ podSelector?: any; namespaceSelector?: any }>; ports?: Array<{ port: string }> }) => {
      if (rule.ports && !rule.ports.some((rp) => rp.port === port)) return false;
      if (!rule.from) return true;
      return rule.from.some((peer) => (fromOtherNamespace ? peer.namespaceSelector !== undefined : true) && (!peer.podSelector || selects(peer.podSelector, from)));
    }),
  );
}

describe("helm/candid: secrets and network policies (issue 14)", () => {
  const SECRET_KEYS = ["api-keys", "internal-token", "token-secrets"];
  const ref = (key: string, name = "candid-secrets") => ({ secretKeyRef: { name, key } });

  test("default: one generated Secret, random 48-character values, kept on upgrade through lookup", () => {
    const objs = render();
    const secrets = byKind(objs, "Secret");
    expect(secrets.map((x) => x.metadata.name)).toEqual(["candid-secrets"]);
    const data = secrets[0]!.data!;
    expect(Object.keys(data).sort()).toEqual(SECRET_KEYS);
    const values = Object.values(data).map((v) => Buffer.from(v, "base64").toString());
    for (const v of values) expect(v).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(new Set(values).size).toBe(3);
    // helm template has no cluster to look into, so each render generates anew ...
    const again = find(render(), "Secret", "candid-secrets").data!;
    expect(again["internal-token"]).not.toBe(data["internal-token"]);
    // ... while an upgrade reuses what lookup finds in the cluster.
    const template = readFileSync(join(CHART, "templates/secrets.yaml"), "utf8");
    expect(template).toContain('lookup "v1" "Secret" .Release.Namespace $name');
    for (const k of SECRET_KEYS) expect(template).toContain(`index $current "${k}" | default (randAlphaNum 48 | b64enc)`);
  });

  test("every Deployment gets exactly the secrets it needs, from the Secret, never in a ConfigMap", () => {
    for (const [files, sets, name] of [[[], [], "candid-secrets"], [["helm/candid/ci/s3-monitoring-values.yaml"], [], "candid-app-secrets"]] as const) {
      const objs = render([...files], [...sets]);
      validateAll(objs);
      if (name !== "candid-secrets") expect(byKind(objs, "Secret")).toEqual([]);
      const env = (d: string) => envOf(objs, find(objs, "Deployment", d));
      expect(env("candid-gateway")).toMatchObject({ CANDID_API_KEYS: ref("api-keys", name), CANDID_TOKEN_SECRETS: ref("token-secrets", name), CANDID_INTERNAL_TOKEN: ref("internal-token", name) });
      for (const d of ["candid-storage", "candid-metadata", "candid-reaper", "candid-processor", "candid-transcriber"]) {
        expect(env(d).CANDID_INTERNAL_TOKEN, d).toEqual(ref("internal-token", name));
        expect(env(d).CANDID_API_KEYS, d).toBeUndefined();
        expect(env(d).CANDID_TOKEN_SECRETS, d).toBeUndefined();
      }
      const web = env("candid-web");
      expect(web.CANDID_API_KEY).toEqual(ref("api-keys", name));
      expect(web.CANDID_TOKEN_SECRETS).toBeUndefined();
      expect(web.CANDID_INTERNAL_TOKEN).toBeUndefined();
      // the web app gets one API key and where the gateway is, nothing else of Candid's
      expect(Object.keys(web).filter((k) => /^(CANDID|GATEWAY|STORAGE|METADATA|DATABASE|S3)_/.test(k)).sort()).toEqual(["CANDID_API_KEY", "CANDID_GATEWAY_URL"]);
      checkAddr(objs, String(web.CANDID_GATEWAY_URL).replace(/^http:\/\//, ""));
      for (const cm of byKind(objs, "ConfigMap")) for (const k of Object.keys(cm.data ?? {})) expect(k).not.toMatch(/^CANDID_/);
    }
    // kind (Tilt): a fixed development Secret the Tiltfile creates, each value long enough
    const kind = render(["deploy/kind-values.yaml"]);
    expect(byKind(kind, "Secret").map((x) => x.metadata.name)).toEqual(["candid-database"]);
    expect(envOf(kind, find(kind, "Deployment", "candid-storage")).CANDID_INTERNAL_TOKEN).toEqual(ref("internal-token", "candid-dev-secrets"));
    const tilt = readFileSync(join(ROOT, "Tiltfile"), "utf8");
    expect(tilt).toContain("name: candid-dev-secrets");
    for (const k of SECRET_KEYS) expect(tilt).toMatch(new RegExp(`^  ${k}: \\S{32,}$`, "m"));
    const objs = render([], ["secrets.webApiKeyKey=web-api-key"]);
    expect(envOf(objs, find(objs, "Deployment", "candid-web")).CANDID_API_KEY).toEqual(ref("web-api-key"));
  });

  test("network policies on by default: who may reach what", () => {
    const objs = render();
    const d = (c: string) => find(objs, "Deployment", `candid-${c}`);
    const policies = byKind(objs, "NetworkPolicy");
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(["candid-gateway", "candid-metadata", "candid-processor", "candid-reaper", "candid-storage", "candid-transcriber", "candid-web"]);
    for (const p of policies) {
      // each selects exactly its own component's pods, and names only ports those pods declare
      const targets = byKind(objs, "Deployment").filter((x) => selects(p.spec.podSelector, podLabels(x)));
      expect(targets.map((x) => x.metadata.name), p.metadata.name).toEqual([p.metadata.name]);
      const ports = new Set(container(targets[0]!).ports.map((x: { name: string }) => x.name));
      for (const rule of p.spec.ingress) for (const rp of rule.ports) expect(ports.has(rp.port), `${p.metadata.name} port ${rp.port}`).toBe(true);
      expect(p.spec.policyTypes).toEqual(["Ingress"]);
    }
    const prometheus = { "app.kubernetes.io/name": "prometheus" };
    const stray = { app: "something-else" };
    const cases: Array<[string, Record<string, string>, string, string, boolean, boolean?]> = [
      ["gateway -> storage gRPC", podLabels(d("gateway")), "storage", "grpc", true],
      ["gateway -> metadata gRPC", podLabels(d("gateway")), "metadata", "grpc", true],
      ["reaper -> metadata gRPC", podLabels(d("reaper")), "metadata", "grpc", true],
      ["reaper -> storage gRPC (orphan sweeper)", podLabels(d("reaper")), "storage", "grpc", true],
      ["web -> storage gRPC", podLabels(d("web")), "storage", "grpc", false],
      ["web -> metadata gRPC", podLabels(d("web")), "metadata", "grpc", false],
      ["a stray pod -> storage gRPC", stray, "storage", "grpc", false],
      ["a stray pod -> metadata gRPC", stray, "metadata", "grpc", false],
      ["a stray pod -> storage metrics", stray, "storage", "metrics", false],
      ["a stray pod -> gateway HTTP", stray, "gateway", "http", true],
      ["a stray pod -> web HTTP", stray, "web", "http", true],
      ["gateway -> storage metrics", podLabels(d("gateway")), "storage", "metrics", false],
      ["Prometheus (another namespace) -> storage metrics", prometheus, "storage", "metrics", true, true],
      ["Prometheus (another namespace) -> metadata metrics", prometheus, "metadata", "metrics", true, true],
      ["Prometheus (another namespace) -> reaper metrics", prometheus, "reaper", "metrics", true, true],
      ["Prometheus -> storage gRPC", prometheus, "storage", "grpc", false, true],
      ["Prometheus (another namespace) -> gateway metrics", prometheus, "gateway", "metrics", true, true],
      ["a stray pod -> gateway metrics", stray, "gateway", "metrics", false],
      ["web -> gateway metrics", podLabels(d("web")), "gateway", "metrics", false],
      ["web -> gateway HTTP", podLabels(d("web")), "gateway", "http", true],
      ["processor -> storage gRPC", podLabels(d("processor")), "storage", "grpc", true],
      ["processor -> metadata gRPC", podLabels(d("processor")), "metadata", "grpc", true],
      ["processor -> transcriber gRPC", podLabels(d("processor")), "transcriber", "grpc", true],
      ["gateway -> transcriber gRPC", podLabels(d("gateway")), "transcriber", "grpc", false],
      ["a stray pod -> transcriber gRPC", stray, "transcriber", "grpc", false],
      ["a stray pod -> processor metrics", stray, "processor", "metrics", false],
      ["Prometheus (another namespace) -> processor metrics", prometheus, "processor", "metrics", true, true],
      ["Prometheus (another namespace) -> transcriber metrics", prometheus, "transcriber", "metrics", true, true],
    ];
    const wrong = cases.filter(([, from, to, port, want, other]) => allowed(objs, from, d(to), port, other) !== want).map(([what]) => what);
    expect(wrong).toEqual([]);
  });

  test("the Prometheus selectors come from values; policies switch off", () => {
    const objs = render(["helm/candid/ci/s3-monitoring-values.yaml"]);
    const peer = find(objs, "NetworkPolicy", "candid-storage").spec.ingress.find((r: { ports: Array<{ port: string }> }) => r.ports[0]!.port === "metrics").from[0];
    expect(peer).toEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } });
    const sameNs = render([], ["networkPolicy.prometheus.namespaceSelector=null"]);
    expect(find(sameNs, "NetworkPolicy", "candid-metadata").spec.ingress[1].from[0].namespaceSelector).toBeUndefined();
    expect(byKind(render([], ["networkPolicy.enabled=false"]), "NetworkPolicy")).toEqual([]);
    const partial = render([], ["reaper.enabled=false", "web.enabled=false", "processor.enabled=false", "transcriber.enabled=false"]);
    expect(byKind(partial, "NetworkPolicy").map((p) => p.metadata.name).sort()).toEqual(["candid-gateway", "candid-metadata", "candid-storage"]);
    // without a processor, nobody may call the transcriber and storage/metadata lose that caller
    const noProcessor = render([], ["processor.enabled=false"]);
    expect(find(noProcessor, "NetworkPolicy", "candid-transcriber").spec.ingress.map((r: { ports: Array<{ port: string }> }) => r.ports[0]!.port)).toEqual(["metrics"]);
    expect(find(noProcessor, "NetworkPolicy", "candid-storage").spec.ingress[0].from).toHaveLength(2);
  });
});

/**
 * What the gateway's config loader reads: each reader of gatewayConfigShape, given an empty
 * environment that records the names asked for, with the default it falls back to (undefined
 * for a required variable). Derived from the shape, so a renamed or added variable shows here.
 */
function gatewayVariables(): Map<string, unknown> {
  return configVariables(gatewayConfigShape);
}

/** The same for any service's config shape (an object of readers, as services/shared/config.ts builds them). */
function configVariables(shape: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const read of Object.values(shape)) {
    const asked: string[] = [];
    const env = new Proxy({} as Record<string, string | undefined>, { get: (_t, k) => (typeof k === "string" && asked.push(k), undefined) });
    let fallback: unknown;
    try {
      fallback = (read as (e: typeof env) => unknown)(env);
    } catch {
      fallback = undefined;
    }
    expect(asked.length, "each reader reads one variable").toBe(1);
    out.set(asked[0]!, fallback);
  }
  return out;
}

/** Kubernetes quantities as bytes (Ki, Mi, Gi). */
const bytesOf = (q: string) => {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  const unit: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * (m[2] ? unit[m[2]]! : 1);
};

describe("helm/candid: the gateway's ops port and settings (issue 14)", () => {
  /** Variables the chart leaves at the gateway's default, on purpose (extraEnv sets them). */
  const LEFT_AT_DEFAULT = [
    "GATEWAY_HOST", "GATEWAY_OPS_HOST", // 0.0.0.0 in a container
    "GATEWAY_MAX_PENDING", "GATEWAY_PENDING_TTL_MS", "GATEWAY_MAX_IN_FLIGHT", "GATEWAY_MAX_BUFFERED_BYTES",
    "GATEWAY_UPSTREAM_STREAMS", "GATEWAY_UPSTREAM_TIMEOUT_MS", "GATEWAY_UPSTREAM_BATCH_ITEMS", "GATEWAY_UPSTREAM_BATCH_BYTES",
    "GATEWAY_WS_BACKPRESSURE_LIMIT_BYTES", "GATEWAY_WS_IDLE_TIMEOUT_SECONDS", "GATEWAY_MAX_REQUEST_BODY_BYTES",
    "GATEWAY_SHUTDOWN_CLOSE_FLUSH_MS", // 50 ms, inside the 5 s margin of terminationGracePeriodSeconds
    "GATEWAY_LEASE_RENEW_MS", // session leases: tuned with the metadata service's METADATA_LEASE_TTL_MS
  ];
  /** Chart defaults that differ from the gateway's, each documented in values.yaml. */
  const CHART_DEFAULTS: Record<string, string> = {
    GATEWAY_MAX_TOTAL_BUFFERED_BYTES: String(512 * 1024 * 1024), // half of the 1Gi memory limit
    GATEWAY_REVIEW_AUDIO_CACHE_BYTES: String(128 * 1024 * 1024), // with the buffers, well below the limit
  };
  const NOT_CONFIG = ["BUN_RUNTIME_TRANSPILER_CACHE_PATH", "TMPDIR"];
  const VALUE_SETS: Array<[string, string[]]> = [["default", []], ...CI_VALUES.map((f): [string, string[]] => [f, [f]]), ["kind", ["deploy/kind-values.yaml"]]];
  const gatewayEnv = (objs: K8sObject[]) => envOf(objs, find(objs, "Deployment", "candid-gateway"));

  test("every variable the chart gives the gateway is one services/gateway/config.ts reads, and the reverse is a decision", () => {
    const known = gatewayVariables();
    expect(known.get("GATEWAY_OPS_PORT")).toBe(9100);
    for (const [what, files] of VALUE_SETS) {
      const env = gatewayEnv(render(files));
      const set = Object.keys(env).filter((k) => !NOT_CONFIG.includes(k));
      expect(set.filter((k) => !known.has(k)), `${what}: set by the chart, unknown to the gateway`).toEqual([]);
      const unset = [...known.keys()].filter((k) => !set.includes(k) && !LEFT_AT_DEFAULT.includes(k));
      expect(unset, `${what}: read by the gateway, neither set by the chart nor in LEFT_AT_DEFAULT`).toEqual([]);
      expect(LEFT_AT_DEFAULT.filter((k) => !known.has(k)), "LEFT_AT_DEFAULT names a variable the gateway no longer reads").toEqual([]);
    }
  });

  test("the chart's defaults are the gateway's, except the documented ones; the loader accepts what the chart renders", () => {
    const known = gatewayVariables();
    const objs = render();
    const env = gatewayEnv(objs);
    const differ = Object.entries(env)
      .filter(([k, v]) => typeof v === "string" && k.startsWith("GATEWAY_") && k !== "GATEWAY_MAX_CONNECTIONS_PER_IP" && known.get(k) !== undefined)
      .filter(([k, v]) => (CHART_DEFAULTS[k] ?? String(known.get(k))) !== v)
      .map(([k, v]) => `${k}=${v} (gateway: ${known.get(k)})`);
    expect(differ).toEqual([]);
    expect(env.GATEWAY_MAX_CONNECTIONS_PER_IP).toBe(String(known.get("GATEWAY_MAX_CONNECTIONS_PER_IP")));
    expect(env.CORS_ALLOWED_ORIGINS).toBe(""); // none
    for (const [what, files] of VALUE_SETS) {
      const rendered = gatewayEnv(render(files));
      // secrets come from the Secret: stand in values of the right length
      const plain = Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, typeof v === "string" ? v : "x".repeat(48)]));
      const config = loadGatewayConfig(plain);
      expect(config.opsPort, what).toBe(9100);
      expect(config.port, what).toBe(8000);
    }
  });

  test("the ops port is wired end to end: container port = GATEWAY_OPS_PORT, probes, scrape annotations, Service, ServiceMonitor", async () => {
    for (const [what, files] of VALUE_SETS) {
      const objs = render(files);
      const gw = find(objs, "Deployment", "candid-gateway");
      const c = container(gw);
      const env = gatewayEnv(objs);
      const port = (name: string) => c.ports.find((p: { name: string }) => p.name === name)?.containerPort;
      expect(port("metrics"), what).toBe(Number(env.GATEWAY_OPS_PORT));
      expect(port("http"), what).toBe(Number(env.GATEWAY_PORT));
      expect(port("metrics"), `${what}: ops and public ports differ`).not.toBe(port("http"));
      expect(c.livenessProbe.httpGet, what).toEqual({ path: "/healthz", port: "metrics" });
      expect(c.readinessProbe.httpGet, what).toEqual({ path: "/readyz", port: "metrics" });
      const ann = gw.spec.template.metadata.annotations;
      expect([ann["prometheus.io/port"], ann["prometheus.io/path"]], what).toEqual([String(env.GATEWAY_OPS_PORT), "/metrics"]);
      const svc = find(objs, "Service", "candid-gateway-metrics");
      expect(svc.spec.type, what).toBe("ClusterIP");
      expect(svc.spec.ports, what).toEqual([{ name: "metrics", port: 9100, targetPort: "metrics", protocol: "TCP" }]);
      const sm = byKind(objs, "ServiceMonitor")[0];
      if (sm) {
        expect(selects(sm.spec.selector, svc.metadata.labels!), `${what}: the ServiceMonitor selects candid-gateway-metrics`).toBe(true);
        expect(sm.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(["metrics"]);
      }
    }
    // ... and the gateway's ops server answers what the probes and the scrape ask for.
    const registry = createRegistry("gateway");
    gatewayMetrics(registry);
    const ops = serveOpsHttp({ port: 0, hostname: "127.0.0.1", registry, ready: async () => true });
    try {
      const c = container(find(render(), "Deployment", "candid-gateway"));
      for (const path of [c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path, "/metrics"]) {
        const res = await fetch(`http://127.0.0.1:${ops.port}${path}`);
        expect(res.status, path).toBe(200);
      }
      expect(await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text()).toContain("candid_gateway_connections");
    } finally {
      ops.stop(true);
    }
  });

  test("the per-IP cap: 50 directly, the pod-wide cap behind the chart's Ingress, a set number always", () => {
    const perIp = (sets: string[]) => gatewayEnv(render([], sets)).GATEWAY_MAX_CONNECTIONS_PER_IP;
    expect(perIp([])).toBe("50");
    expect(perIp(["ingress.enabled=true"])).toBe("10000");
    expect(perIp(["ingress.enabled=true", "gateway.maxConnections=3000"])).toBe("3000");
    expect(perIp(["ingress.enabled=true", "gateway.maxConnectionsPerIp=200"])).toBe("200");
    expect(perIp(["gateway.maxConnectionsPerIp=7"])).toBe("7");
    expect(gatewayEnv(render(["helm/candid/ci/s3-monitoring-values.yaml"])).GATEWAY_MAX_CONNECTIONS_PER_IP).toBe("10000");
  });

  test("CORS: the set list; else the web app's Ingress origin; else none. The Ingress routes the operator API", () => {
    const cors = (sets: string[]) => gatewayEnv(render([], sets)).CORS_ALLOWED_ORIGINS;
    expect(cors([])).toBe("");
    expect(cors(["ingress.enabled=true", "ingress.hostname=candid.example.com"])).toBe("http://candid.example.com");
    expect(cors(["ingress.enabled=true", "ingress.hostname=candid.example.com", "ingress.tls[0].hosts[0]=candid.example.com"])).toBe("https://candid.example.com");
    expect(cors(["ingress.enabled=true", "web.enabled=false"])).toBe("");
    expect(cors(["ingress.enabled=true", "gateway.corsAllowedOrigins={https://a.example,https://b.example}"])).toBe("https://a.example,https://b.example");
    const ing = find(render([], ["ingress.enabled=true"]), "Ingress", "candid");
    const paths = ing.spec.rules[0].http.paths.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["/ws", "/sessions", "/interview-sessions"]));
  });

  test("the gateway-wide buffered-bytes cap stays below the pod's memory limit", () => {
    for (const [what, files] of VALUE_SETS) {
      const objs = render(files);
      const limit = bytesOf(container(find(objs, "Deployment", "candid-gateway")).resources.limits.memory);
      expect(Number(gatewayEnv(objs).GATEWAY_MAX_TOTAL_BUFFERED_BYTES), what).toBeLessThanOrEqual(limit / 2);
    }
  });

  test("invalid gateway settings are refused at render time", () => {
    const bad = (sets: string[]) => helm(["template", "candid", CHART, ...sets.flatMap((x) => ["--set", x])], { allowFail: true });
    let r = bad(["gateway.tokenDefaultTtlS=90000", "gateway.tokenMaxTtlS=86400"]);
    expect(r.code).not.toBe(0);
    r = bad(["gateway.tokenDefaultTtlS=7200", "gateway.tokenMaxTtlS=3600"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("gateway.tokenDefaultTtlS must be at most gateway.tokenMaxTtlS");
    r = bad(["gateway.tokenMaxTtlS=100000"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("tokenMaxTtlS");
    r = bad(["gateway.maxConnectionsPerIp=lots"]);
    expect(r.code).not.toBe(0);
    r = bad(["gateway.metricsPort=0"]);
    expect(r.code).not.toBe(0);
    r = bad(["gateway.maxSessionsPerToken=0"]);
    expect(r.code).not.toBe(0);
  });
});

/** A Deployment's pod spec. */
const podSpec = (d: K8sObject) => d.spec.template.spec;
const deployment = (objs: K8sObject[], c: string) => find(objs, "Deployment", `candid-${c}`);
const pdbNames = (objs: K8sObject[]) => byKind(objs, "PodDisruptionBudget").map((p) => p.metadata.name).sort();
const refused = (sets: string[], files: string[] = []) =>
  helm(["template", "candid", CHART, ...files.flatMap((f) => ["-f", join(ROOT, f)]), ...sets.flatMap((x) => ["--set", x])], { allowFail: true });

/**
 * Kubernetes' Prefix match (https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types):
 * whole path elements, the longest matching path wins.
 */
function ingressBackend(ing: K8sObject, path: string): string | undefined {
  const parts = (p: string) => p.split("/").filter(Boolean);
  const rules: Array<{ path: string; pathType: string; backend: { service: { name: string } } }> = ing.spec.rules[0].http.paths;
  const matching = rules.filter((r) => {
    expect(r.pathType).toBe("Prefix");
    const want = parts(r.path);
    return want.every((el, i) => parts(path)[i] === el);
  });
  matching.sort((a, b) => parts(b.path).length - parts(a.path).length);
  return matching[0]?.backend.service.name;
}

describe("helm/candid: the reaper's settings (retention and erasure, issue 12)", () => {
  /** Variables the chart leaves at the reaper's default, on purpose (extraEnv sets them). */
  const LEFT_AT_DEFAULT = ["REAPER_HOST"]; // 0.0.0.0 in a container
  const NOT_CONFIG = ["BUN_RUNTIME_TRANSPILER_CACHE_PATH", "TMPDIR"];
  const VALUE_SETS: Array<[string, string[]]> = [["default", []], ...CI_VALUES.map((f): [string, string[]] => [f, [f]]), ["kind", ["deploy/kind-values.yaml"]]];
  const reaperEnv = (objs: K8sObject[]) => envOf(objs, find(objs, "Deployment", "candid-reaper"));
  /** The rendered env as loadReaperConfig gets it: the internal token (a secretKeyRef) stood in. */
  const plain = (env: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === "string" ? v : "t".repeat(48)])) as Record<string, string>;

  test("every variable the chart gives the reaper is one services/reaper/config.ts reads, and the reverse is a decision", () => {
    const known = configVariables(reaperConfigShape);
    expect(known.get("CANDID_RETENTION_DAYS")).toBe(0);
    for (const [what, files] of VALUE_SETS) {
      const env = reaperEnv(render(files));
      const set = Object.keys(env).filter((k) => !NOT_CONFIG.includes(k));
      expect(set.filter((k) => !known.has(k)), `${what}: set by the chart, unknown to the reaper`).toEqual([]);
      const unset = [...known.keys()].filter((k) => !set.includes(k) && !LEFT_AT_DEFAULT.includes(k));
      expect(unset, `${what}: read by the reaper, neither set by the chart nor in LEFT_AT_DEFAULT`).toEqual([]);
      expect(LEFT_AT_DEFAULT.filter((k) => !known.has(k)), "LEFT_AT_DEFAULT names a variable the reaper no longer reads").toEqual([]);
      expect(loadReaperConfig(plain(env)).metricsPort, what).toBe(9103);
    }
  });

  test("the chart's defaults are the reaper's: retention off, the erasure pacing of config.ts", () => {
    const known = configVariables(reaperConfigShape);
    const env = reaperEnv(render());
    const differ = Object.entries(env)
      .filter(([k, v]) => typeof v === "string" && known.get(k) !== undefined && !["METADATA_ADDR", "STORAGE_ADDR"].includes(k))
      .filter(([k, v]) => String(known.get(k)) !== v)
      .map(([k, v]) => `${k}=${v} (reaper: ${known.get(k)})`);
    expect(differ).toEqual([]);
    expect(env).toMatchObject({ CANDID_RETENTION_DAYS: "0", REAPER_RETENTION_INTERVAL_MS: "3600000", REAPER_ERASURE_INTERVAL_MS: "5000", REAPER_ERASURE_LEASE_MS: "60000", REAPER_ERASURE_PAGE_SIZE: "100", REAPER_ERASURE_CONCURRENCY: "8" });
  });

  test("set values reach loadReaperConfig; the schema refuses what the reaper would refuse", () => {
    const sets = ["retention.days=30", "reaper.retention.intervalMs=600000", "reaper.erasure.intervalMs=1000", "reaper.erasure.leaseMs=120000", "reaper.erasure.pageSize=1000", "reaper.erasure.concurrency=64"];
    const rc = loadReaperConfig(plain(reaperEnv(render([], sets))));
    expect(rc).toMatchObject({ retentionDays: 30, retentionIntervalMs: 600_000, erasureIntervalMs: 1000, erasureLeaseMs: 120_000, erasurePageSize: 1000, erasureConcurrency: 64 });
    // the bounds of config.ts, at the edge
    expect(loadReaperConfig(plain(reaperEnv(render([], ["retention.days=3650", "reaper.erasure.leaseMs=1000", "reaper.erasure.pageSize=1", "reaper.erasure.concurrency=1"])))).retentionDays).toBe(3650);
    /** --set, and where helm's schema check points. */
    const refusedSets: Array<[string, string]> = [
      ["retention.days=-1", "/retention/days"], ["retention.days=3651", "/retention/days"], ["retention.days=abc", "/retention/days"], ["retention.forever=true", "/retention"],
      ["reaper.retention.intervalMs=0", "/reaper/retention/intervalMs"], ["reaper.erasure.intervalMs=0", "/reaper/erasure/intervalMs"],
      ["reaper.erasure.leaseMs=999", "/reaper/erasure/leaseMs"], ["reaper.erasure.leaseMs=3600001", "/reaper/erasure/leaseMs"],
      ["reaper.erasure.pageSize=0", "/reaper/erasure/pageSize"], ["reaper.erasure.pageSize=1001", "/reaper/erasure/pageSize"],
      ["reaper.erasure.concurrency=0", "/reaper/erasure/concurrency"], ["reaper.erasure.concurrency=65", "/reaper/erasure/concurrency"], ["reaper.erasure.dryRun=true", "/reaper/erasure"],
    ];
    for (const [s, at] of refusedSets) {
      const r = refused([s]);
      expect(r.code, s).not.toBe(0);
      expect(r.stderr, s).toContain(`at '${at}'`);
    }
    // and config.ts does refuse each of those numbers (the schema is not stricter than the reaper)
    const defaults = plain(reaperEnv(render()));
    for (const [k, v] of [["CANDID_RETENTION_DAYS", "3651"], ["CANDID_RETENTION_DAYS", "-1"], ["REAPER_ERASURE_LEASE_MS", "999"], ["REAPER_ERASURE_PAGE_SIZE", "1001"], ["REAPER_ERASURE_CONCURRENCY", "65"], ["REAPER_RETENTION_INTERVAL_MS", "0"]] as const) {
      expect(() => loadReaperConfig({ ...defaults, [k]: v }), `${k}=${v}`).toThrow(k);
    }
  });
});

describe("helm/candid: high availability, autoscaling, rolling restarts (issue 10)", () => {
  test("HPA: off by default; on, it targets the gateway Deployment on CPU, and the Deployment has no replicas", () => {
    const plain = render();
    expect(byKind(plain, "HorizontalPodAutoscaler")).toEqual([]);
    expect(deployment(plain, "gateway").spec.replicas).toBe(2);

    const objs = render([], ["gateway.autoscaling.enabled=true", "gateway.autoscaling.minReplicas=3", "gateway.autoscaling.maxReplicas=9"]);
    validateAll(objs);
    const hpa = find(objs, "HorizontalPodAutoscaler", "candid-gateway");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "candid-gateway" });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([3, 9]);
    expect(hpa.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]);
    // scale-down one pod at a time: each removed pod closes its sockets
    expect(hpa.spec.behavior.scaleDown.policies).toEqual([{ type: "Pods", value: 1, periodSeconds: 120 }]);
    const gw = deployment(objs, "gateway");
    expect("replicas" in gw.spec).toBe(false);
    // the utilisation target needs a CPU request on the container
    expect(container(gw).resources.requests.cpu).toBeTruthy();
    // the HPA's bounds decide the PDB (min 3 > 1) and the spread (max 9 > 1)
    expect(pdbNames(objs)).toEqual(["candid-gateway"]);
    expect(podSpec(gw).topologySpreadConstraints).toHaveLength(2);
  });

  test("HPA on open sessions: a Pods metric when gateway.autoscaling.connections.enabled", () => {
    const objs = render([], ["gateway.autoscaling.enabled=true", "gateway.autoscaling.connections.enabled=true", "gateway.autoscaling.connections.averageValue=1234"]);
    validateAll(objs);
    const metrics = find(objs, "HorizontalPodAutoscaler", "candid-gateway").spec.metrics;
    expect(metrics.map((m: { type: string }) => m.type)).toEqual(["Resource", "Pods"]);
    expect(metrics[1].pods).toEqual({ metric: { name: "candid_gateway_sessions_active" }, target: { type: "AverageValue", averageValue: "1234" } });
    let r = refused(["gateway.autoscaling.enabled=true", "gateway.autoscaling.minReplicas=5", "gateway.autoscaling.maxReplicas=4"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("gateway.autoscaling.minReplicas must be at most gateway.autoscaling.maxReplicas");
    r = refused(["gateway.autoscaling.connections.metricName=sessions-active"]);
    expect(r.code).not.toBe(0);
  });

  test("the HPA's sessions metric is one the gateway exports", () => {
    const values = Bun.YAML.parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as { gateway: { autoscaling: { connections: { metricName: string } } } };
    const name = values.gateway.autoscaling.connections.metricName;
    expect(exportedSeries().has(name), `${name} is exported by the gateway`).toBe(true);
  });

  test("spread over zones and nodes, and a soft anti-affinity, for every multi-replica Deployment only", () => {
    const objs = render([], ["storage.backend=s3", "storage.s3.bucket=b", "storage.replicaCount=2", "metadata.replicaCount=3", "reaper.replicaCount=2", "web.replicaCount=2"]);
    validateAll(objs);
    for (const c of ["gateway", "storage", "metadata", "reaper", "web"]) {
      const spec = podSpec(deployment(objs, c));
      const selector = deployment(objs, c).spec.selector;
      expect(spec.topologySpreadConstraints, c).toEqual(
        ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: selector })),
      );
      expect(spec.affinity, c).toEqual({
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: selector } }] },
      });
      // the selector is the component's own: pods of other components do not count
      expect(selector.matchLabels["app.kubernetes.io/component"]).toBe(c);
    }
    // one replica: nothing to spread
    const single = render();
    for (const c of ["storage", "metadata", "reaper", "web"]) {
      expect(podSpec(deployment(single, c)).topologySpreadConstraints, c).toBeUndefined();
      expect(podSpec(deployment(single, c)).affinity, c).toBeUndefined();
    }
    expect(podSpec(deployment(single, "gateway")).topologySpreadConstraints).toHaveLength(2);
  });

  test("scheduling overrides: global knobs, a component's own constraints and affinity replace the defaults", () => {
    const objs = render(["helm/candid/ci/scheduling-values.yaml"]);
    const gw = podSpec(deployment(objs, "gateway"));
    expect(gw.topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { "app.kubernetes.io/component": "gateway" } } }]);
    expect(gw.nodeSelector).toEqual({ "example.com/pool": "edge" });
    expect(gw.tolerations).toEqual([{ key: "example.com/edge", operator: "Exists", effect: "NoSchedule" }]);
    expect(Object.keys(gw.affinity.podAntiAffinity)).toEqual(["requiredDuringSchedulingIgnoredDuringExecution"]);
    const st = podSpec(deployment(objs, "storage"));
    expect(Object.keys(st.affinity)).toEqual(["nodeAffinity"]);
    expect(st.topologySpreadConstraints.map((t: { topologyKey: string; maxSkew: number; whenUnsatisfiable: string }) => `${t.topologyKey} ${t.maxSkew} ${t.whenUnsatisfiable}`)).toEqual([
      "example.com/rack 2 DoNotSchedule",
      "kubernetes.io/hostname 2 DoNotSchedule",
    ]);
    expect(podSpec(deployment(objs, "metadata")).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe("kubernetes.io/hostname");
    expect(pdbNames(objs)).toEqual(["candid-gateway", "candid-metadata", "candid-storage"]);
    expect(find(objs, "PodDisruptionBudget", "candid-gateway").spec.minAvailable).toBe("50%");
    expect(find(objs, "PodDisruptionBudget", "candid-storage").spec).toMatchObject({ maxUnavailable: 1 });
    // switched off entirely
    const none = render([], ["scheduling.topologySpread.enabled=false", "scheduling.podAntiAffinity.type=none"]);
    expect(podSpec(deployment(none, "gateway")).topologySpreadConstraints).toBeUndefined();
    expect(podSpec(deployment(none, "gateway")).affinity).toBeUndefined();
    expect(refused(["scheduling.podAntiAffinity.type=sometimes"]).code).not.toBe(0);
  });

  test("a PodDisruptionBudget for every Deployment with more than one pod, and only those", () => {
    expect(pdbNames(render())).toEqual(["candid-gateway"]);
    expect(pdbNames(render(["helm/candid/ci/fs-single-node-values.yaml"]))).toEqual([]);
    expect(pdbNames(render(["helm/candid/ci/production-values.yaml"]))).toEqual(["candid-gateway", "candid-metadata", "candid-processor", "candid-storage", "candid-transcriber", "candid-web"]);
    expect(pdbNames(render([], ["reaper.replicaCount=2", "web.replicaCount=3"]))).toEqual(["candid-gateway", "candid-reaper", "candid-web"]);
    expect(pdbNames(render([], ["gateway.autoscaling.enabled=true", "gateway.autoscaling.minReplicas=1"]))).toEqual([]);
    expect(pdbNames(render([], ["web.replicaCount=3", "web.enabled=false"]))).toEqual(["candid-gateway"]);
    for (const pdb of byKind(render(["helm/candid/ci/production-values.yaml"]), "PodDisruptionBudget")) {
      const c = pdb.metadata.labels!["app.kubernetes.io/component"]!;
      expect(pdb.spec.selector, c).toEqual(deployment(render(["helm/candid/ci/production-values.yaml"]), c).spec.selector);
    }
    // a budget that could never let a node drain is refused
    const r = refused(["metadata.replicaCount=2", "metadata.pdb.minAvailable=2"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("metadata.pdb.minAvailable (2) must be below the 2 replicas");
  });

  test("storage: S3 with 2 replicas rolls one pod at a time; fs stays one replica with Recreate", () => {
    const prod = render(["helm/candid/ci/production-values.yaml"]);
    const st = deployment(prod, "storage");
    expect(st.spec.replicas).toBe(2);
    expect(st.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(envOf(prod, st).STORAGE_BACKEND).toBe("s3");
    expect(podSpec(st).volumes.map((v: { name: string }) => v.name)).toEqual(["tmp"]);
    const fs = render(["helm/candid/ci/fs-single-node-values.yaml"]);
    const fst = deployment(fs, "storage");
    expect([fst.spec.replicas, fst.spec.strategy.type]).toEqual([1, "Recreate"]);
    expect(find(fs, "PersistentVolumeClaim", "candid-storage").spec).toMatchObject({ accessModes: ["ReadWriteOnce"], storageClassName: "local-path" });
    const r = refused(["storage.replicaCount=2"], ["helm/candid/ci/fs-single-node-values.yaml"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("at '/storage/replicaCount': maximum: got 2, want 1");
  });

  test("a misspelt key anywhere is refused: additionalProperties false on every object of the schema", () => {
    for (const set of ["gateway.replicaCuont=3", "storage.s3.bukket=x", "gateway.drain.preStopSecond=3", "scheduling.topologySpread.maxSkw=2", "probes.readiness.periodSecond=3", "gateway.resources.request.cpu=1", "replicaCount=2", "podSecurityContext.runAsUsr=5", "scheduling.podAntiAffinity.typ=soft"]) {
      const r = refused([set]);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr, set).toMatch(/additional properties '\w+' not allowed/);
    }
    // every object node closes its keys, except Kubernetes objects passed through verbatim (the API
    // server validates those, and validateAll checks what the chart renders from them)
    const PASSTHROUGH = new Set([
      "networkPolicy.prometheus.podSelector", "networkPolicy.prometheus.namespaceSelector",
      ...["gateway", "storage", "metadata", "reaper", "web", "processor", "transcriber"].flatMap((c) => [`${c}.affinity.nodeAffinity`, `${c}.affinity.podAffinity`, `${c}.affinity.podAntiAffinity`]),
      ...["gateway", "processor", "transcriber"].flatMap((c) => [`${c}.autoscaling.behavior.scaleUp`, `${c}.autoscaling.behavior.scaleDown`]),
    ]);
    const open: string[] = [];
    const walk = (node: any, path: string) => {
      if (!node || typeof node !== "object") return;
      const types = [node.type].flat();
      if (types.includes("object") && node.additionalProperties === undefined && !PASSTHROUGH.has(path)) open.push(path || "(root)");
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, path ? `${path}.${k}` : k);
      for (const v of node.anyOf ?? []) walk(v, path);
    };
    const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
    walk(schema, "");
    expect(open).toEqual([]);
  });

  test("the Ingress sends every public gateway route to the gateway, the web app's routes to the web app", async () => {
    // The gateway's own router answers each of these (401 without credentials), and 404 "no such
    // route" for anything else: a route added to http.ts but not to the Ingress fails below.
    const fail = async (): Promise<never> => {
      throw new AppError("INTERNAL", "not called without credentials");
    };
    const apiKeys = createApiKeyChecker(["k".repeat(40)]);
    const http = createHttpHandler({
      status: fail,
      sessionAnalysis: fail,
      createInterviewSession: fail,
      getInterviewSession: fail,
      retention: { requestErasure: fail, setLegalHold: fail, setRetention: fail },
      apiKeys,
      verifyToken: async () => {
        throw new AppError("TOKEN_INVALID");
      },
      mintToken: fail,
      tokenDefaultTtlS: 60,
      tokenMaxTtlS: 60,
      review: createReviewRoutes({
        review: new Review(new Proxy({}, { get: () => fail }) as ReviewPorts),
        audio: fail,
        mintReviewerToken: fail,
        tokenDefaultTtlS: 60,
        tokenMaxTtlS: 60,
        requireApiKey: (req) => apiKeys.check(req.headers.get("authorization")),
        log: createLogger({ service: "gateway" }, { level: "error", write: () => {} }),
      }),
      ready: async () => true,
      corsAllowedOrigins: [],
      events: { refused: () => {}, minted: () => {} },
      log: createLogger({ service: "gateway" }, { level: "error", write: () => {} }),
    });
    const GATEWAY: Array<[string, string]> = [
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/status"],
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/analysis"],
      ["POST", "/interview-sessions"],
      ["POST", "/interview-sessions/7/upload-tokens"],
      ["POST", "/reviewer-tokens"],
      ["GET", "/interview-sessions"],
      ["GET", "/interview-sessions/7"],
      ["GET", "/interview-sessions/7/export"],
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/audio"],
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/frames/3"],
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/timeline"],
      ["GET", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/manifest"],
      ["POST", "/sessions/0f8fad5b-d9cb-469f-a165-70867728950e/verify"],
      ["DELETE", "/interview-sessions/7"],
      ["PUT", "/interview-sessions/7/legal-hold"],
      ["PUT", "/interview-sessions/7/retention"],
    ];
    for (const [method, path] of GATEWAY) {
      const res = await http(new Request(`http://gw${path}`, { method, body: method === "POST" || method === "PUT" ? "{}" : undefined }));
      expect(res.status, `${method} ${path} is a gateway route`).toBe(401);
    }
    const notARoute = await http(new Request("http://gw/interview"));
    expect(notARoute.status).toBe(404);

    const webRoutes = readdirSync(join(ROOT, "web/src/routes"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /^\+(page|server)\.(svelte|ts)$/.test(e.name))
      .map((e) => `/${e.parentPath.slice(join(ROOT, "web/src/routes").length + 1)}`.replace(/\/$/, "") || "/");
    expect(webRoutes).toEqual(expect.arrayContaining(["/", "/healthz", "/interview", "/api/interviews"]));

    for (const files of [["helm/candid/ci/production-values.yaml"], [] as string[]]) {
      const ing = byKind(render(files, files.length ? [] : ["ingress.enabled=true"]), "Ingress")[0]!;
      validateAll([ing]);
      for (const [, path] of [["GET", MEDIA_STREAM_PATH], ...GATEWAY]) expect(ingressBackend(ing, path!), path).toBe("candid-gateway");
      for (const path of webRoutes) expect(ingressBackend(ing, path), path).toBe("candid-web");
      for (const p of ing.spec.rules[0].http.paths) expect(p.backend.service.port).toEqual({ name: "http" });
    }
    // without the web app, only the gateway's routes are published
    const noWeb = find(render([], ["ingress.enabled=true", "web.enabled=false"]), "Ingress", "candid");
    expect(ingressBackend(noWeb, "/")).toBeUndefined();
    expect(ingressBackend(noWeb, MEDIA_STREAM_PATH)).toBe("candid-gateway");
  });

  test("rolling restart: preStop sleep, drain env, pod name as instance id, derived terminationGracePeriodSeconds", () => {
    const gw = (sets: string[] = [], files: string[] = []) => {
      const objs = render(files, sets);
      return { d: deployment(objs, "gateway"), env: envOf(objs, deployment(objs, "gateway")) };
    };
    // defaults: 5 s preStop + 0 ms delay + 10000 ms grace + 5 s = 20 s
    let { d, env } = gw();
    expect(container(d).lifecycle).toEqual({ preStop: { exec: { command: ["sleep", "5"] } } });
    expect(podSpec(d).terminationGracePeriodSeconds).toBe(20);
    expect(env).toMatchObject({ GATEWAY_DRAIN_DELAY_MS: "0", GATEWAY_SHUTDOWN_GRACE_MS: "10000" });
    expect(env.GATEWAY_INSTANCE_ID).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // milliseconds round up to whole seconds: 7 + ceil(12501 / 1000) + 5 = 25
    ({ d, env } = gw(["gateway.drain.preStopSeconds=7", "gateway.drain.delayMs=2500", "gateway.drain.graceMs=10001"]));
    expect(podSpec(d).terminationGracePeriodSeconds).toBe(25);
    expect(container(d).lifecycle.preStop.exec.command).toEqual(["sleep", "7"]);
    expect(env).toMatchObject({ GATEWAY_DRAIN_DELAY_MS: "2500", GATEWAY_SHUTDOWN_GRACE_MS: "10001" });
    // exactly whole seconds stay whole: 0 + 3 + 5
    ({ d } = gw(["gateway.drain.preStopSeconds=0", "gateway.drain.delayMs=1000", "gateway.drain.graceMs=2000"]));
    expect(podSpec(d).terminationGracePeriodSeconds).toBe(8);
    expect(container(d).lifecycle).toBeUndefined();
    // Kubernetes >= 1.30: the kubelet's own sleep, no binary in the image
    ({ d } = gw(["gateway.drain.preStopMode=sleepAction"]));
    expect(container(d).lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    validateAll([d]);
    expect(refused(["gateway.drain.preStopMode=wait"]).code).not.toBe(0);
    expect(refused(["gateway.drain.graceMs=-1"]).code).not.toBe(0);
    // the gateway reads what the chart renders
    ({ env } = gw(["gateway.drain.delayMs=2500", "gateway.drain.graceMs=15000"]));
    const config = loadGatewayConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === "string" ? v : "candid-gateway-5d9c7b6f4-x2x9q".padEnd(48, "x")])));
    expect([config.drainDelayMs, config.shutdownGraceMs]).toEqual([2500, 15000]);
    // the `sleep` the exec hook runs is in the runtime image: a Debian-based Bun image (coreutils)
    expect(readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8")).toMatch(/^FROM oven\/bun:\$\{BUN_VERSION\}-slim AS runtime$/m);
  });

  test("startup probes everywhere; the gateway's readiness is its own /readyz on the ops port", () => {
    const objs = render([], ["metadata.startupProbeFailureThreshold=120", "probes.startup.periodSeconds=3"]);
    for (const d of byKind(objs, "Deployment")) {
      const c = container(d);
      expect(c.startupProbe.periodSeconds, d.metadata.name).toBe(3);
      expect(c.startupProbe.failureThreshold, d.metadata.name).toBe({ "candid-metadata": 120, "candid-transcriber": 60 }[d.metadata.name] ?? 30);
    }
    expect(container(deployment(objs, "web")).startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
  });

  test("production values: an HA install with everything above", () => {
    const objs = render(["helm/candid/ci/production-values.yaml"]);
    validateAll(objs);
    checkDeploymentInvariants(objs, { readOnlyRoot: true });
    checkServicesResolve(objs);
    // HPA on CPU and sessions; the gateway Deployment leaves replicas to it
    const hpa = find(objs, "HorizontalPodAutoscaler", "candid-gateway");
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics.map((m: { type: string }) => m.type)]).toEqual([3, 12, ["Resource", "Pods"]]);
    expect("replicas" in deployment(objs, "gateway").spec).toBe(false);
    // S3 storage x2, metadata x2, web x2, each spread, anti-affine and under a PDB
    expect([deployment(objs, "storage").spec.replicas, deployment(objs, "metadata").spec.replicas, deployment(objs, "web").spec.replicas]).toEqual([2, 2, 2]);
    expect(envOf(objs, deployment(objs, "storage")).STORAGE_BACKEND).toBe("s3");
    expect(byKind(objs, "PersistentVolumeClaim")).toEqual([]);
    for (const c of ["gateway", "storage", "metadata", "web"]) {
      const spec = podSpec(deployment(objs, c));
      expect(spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey), c).toEqual(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
      expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, c).toHaveLength(1);
      expect(deployment(objs, c).spec.strategy?.type ?? "RollingUpdate", c).toBe("RollingUpdate");
    }
    expect(pdbNames(objs)).toEqual(["candid-gateway", "candid-metadata", "candid-processor", "candid-storage", "candid-transcriber", "candid-web"]);
    // NetworkPolicies, Ingress with TLS, monitoring
    expect(byKind(objs, "NetworkPolicy").length).toBe(7);
    const ing = find(objs, "Ingress", "candid");
    expect(ing.spec.tls).toEqual([{ hosts: ["candid.example.com"], secretName: "candid-tls" }]);
    for (const k of ["ServiceMonitor", "PrometheusRule"]) expect(byKind(objs, k).length, k).toBe(1);
    // rolling restart: 10 s preStop + 15 s grace + 5 s
    const gw = deployment(objs, "gateway");
    expect(podSpec(gw).terminationGracePeriodSeconds).toBe(30);
    expect(container(gw).lifecycle.preStop.exec.command).toEqual(["sleep", "10"]);
    // the Ingress controller must not cut sockets the gateway keeps
    expect(Number(ing.metadata.annotations!["nginx.ingress.kubernetes.io/proxy-read-timeout"]) * 1000).toBeGreaterThan(Number(envOf(objs, gw).GATEWAY_IDLE_TIMEOUT_MS));
  });
});

describe("helm/candid: the processor and the transcriber (analysis)", () => {
  /** What services/processor/config.ts reads (its specification), besides the Bun runtime's two. */
  const PROCESSOR_ENV = ["METADATA_ADDR", "STORAGE_ADDR", "CANDID_INTERNAL_TOKEN", "TRANSCRIBER_ADDR", "TRANSCRIBER_OPENAI_URL", "TRANSCRIBER_OPENAI_MODEL", "TRANSCRIBER_OPENAI_API_KEY",
    "PROCESSOR_INSTANCE_ID", "PROCESSOR_HOST", "PROCESSOR_METRICS_PORT", "PROCESSOR_CONCURRENCY", "PROCESSOR_LEASE_MS", "PROCESSOR_MAX_ATTEMPTS", "PROCESSOR_KINDS", "LOG_LEVEL"];
  const TRANSCRIBER_ENV = ["TRANSCRIBER_HOST", "TRANSCRIBER_PORT", "TRANSCRIBER_OPS_PORT", "TRANSCRIBER_THREADS", "TRANSCRIBER_COMPUTE_TYPE", "TRANSCRIBER_LANGUAGE", "CANDID_INTERNAL_TOKEN", "LOG_LEVEL"];
  const env = (objs: K8sObject[], c: string) => envOf(objs, deployment(objs, c));

  test("defaults: the processor's env is its config, TRANSCRIBER_ADDR is the transcriber Service's gRPC port", () => {
    const objs = render();
    const p = env(objs, "processor");
    expect(Object.keys(p).filter((k) => !["BUN_RUNTIME_TRANSPILER_CACHE_PATH", "TMPDIR"].includes(k)).filter((k) => !PROCESSOR_ENV.includes(k))).toEqual([]);
    expect(p).toMatchObject({ PROCESSOR_HOST: "0.0.0.0", PROCESSOR_METRICS_PORT: "9105", PROCESSOR_CONCURRENCY: "2", PROCESSOR_LEASE_MS: "120000", PROCESSOR_MAX_ATTEMPTS: "5", PROCESSOR_KINDS: "audio,frame", TRANSCRIBER_OPENAI_URL: "", LOG_LEVEL: "info" });
    expect(p.PROCESSOR_INSTANCE_ID).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    expect(p.TRANSCRIBER_OPENAI_API_KEY).toBeUndefined();
    for (const k of ["METADATA_ADDR", "STORAGE_ADDR", "TRANSCRIBER_ADDR"]) checkAddr(objs, p[k]);
    expect(p.TRANSCRIBER_ADDR).toBe("candid-transcriber:50054");
    const svc = find(objs, "Service", "candid-transcriber");
    expect(svc.spec.ports.find((x: { port: number }) => x.port === 50054).targetPort).toBe("grpc");
    expect(podSpec(deployment(objs, "processor")).terminationGracePeriodSeconds).toBe(60);
    const tr = env(objs, "transcriber");
    expect(Object.keys(tr).filter((k) => k !== "TMPDIR").sort()).toEqual([...TRANSCRIBER_ENV].sort());
    expect(tr).toMatchObject({ TRANSCRIBER_HOST: "0.0.0.0", TRANSCRIBER_PORT: "50054", TRANSCRIBER_OPS_PORT: "9104", TRANSCRIBER_THREADS: "2", TRANSCRIBER_COMPUTE_TYPE: "int8", TRANSCRIBER_LANGUAGE: "en" });
    expect(container(deployment(objs, "transcriber")).startupProbe.failureThreshold).toBe(60);
    // one pod each by default: no HPA, no PDB
    expect(byKind(objs, "HorizontalPodAutoscaler")).toEqual([]);
    expect(pdbNames(objs)).toEqual(["candid-gateway"]);
  });

  test("a hosted OpenAI-compatible API instead of the transcriber; or transcription off", () => {
    const hosted = render(["helm/candid/ci/fs-single-node-values.yaml"]);
    expect(byKind(hosted, "Deployment").map((d) => d.metadata.name)).not.toContain("candid-transcriber");
    expect(env(hosted, "processor")).toMatchObject({ TRANSCRIBER_ADDR: "", TRANSCRIBER_OPENAI_URL: "https://api.openai.com/v1", TRANSCRIBER_OPENAI_MODEL: "whisper-1", TRANSCRIBER_OPENAI_API_KEY: { secretKeyRef: { name: "candid-openai", key: "openai-api-key" } } });
    const off = render([], ["transcriber.enabled=false"]);
    expect(env(off, "processor")).toMatchObject({ TRANSCRIBER_ADDR: "", TRANSCRIBER_OPENAI_URL: "" });
    expect(byKind(off, "Service").map((s) => s.metadata.name)).not.toContain("candid-transcriber");
    // both at once: the transcriber would never be called
    const r = refused(["processor.transcriber.openaiUrl=https://api.example.com/v1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("set transcriber.enabled=false");
    expect(refused(["processor.kinds={audio,video}"]).code).not.toBe(0);
    expect(refused(["transcriber.computeType=float16x"]).code).not.toBe(0);
  });

  test("HPAs on CPU, PDBs, spread: production values", () => {
    const objs = render(["helm/candid/ci/production-values.yaml"]);
    for (const [c, min, max] of [["processor", 2, 8], ["transcriber", 2, 6]] as const) {
      const hpa = find(objs, "HorizontalPodAutoscaler", `candid-${c}`);
      expect(hpa.spec.scaleTargetRef, c).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: `candid-${c}` });
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas], c).toEqual([min, max]);
      expect(hpa.spec.metrics, c).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]);
      expect("replicas" in deployment(objs, c).spec, c).toBe(false);
      expect(podSpec(deployment(objs, c)).topologySpreadConstraints, c).toHaveLength(2);
      expect(find(objs, "PodDisruptionBudget", `candid-${c}`).spec.selector, c).toEqual(deployment(objs, c).spec.selector);
    }
    const r = refused(["processor.autoscaling.enabled=true", "processor.autoscaling.minReplicas=5", "processor.autoscaling.maxReplicas=4"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("processor.autoscaling.minReplicas must be at most processor.autoscaling.maxReplicas");
    expect(pdbNames(render([], ["processor.replicaCount=3", "transcriber.replicaCount=2"]))).toEqual(["candid-gateway", "candid-processor", "candid-transcriber"]);
    expect(pdbNames(render([], ["processor.replicaCount=3", "processor.enabled=false"]))).toEqual(["candid-gateway"]);
  });
});
