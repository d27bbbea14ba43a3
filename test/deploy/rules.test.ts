/**
 * The alerting and recording rules (helm/candid/rules/candid.rules.yaml), checked with promtool:
 * `check rules`, the unit tests beside them (candid.rules.test.yaml: every alert firing and not
 * firing), and the PrometheusRule the chart renders with reaper.enabled=false against
 * reaper-disabled.test.yaml (which must fail on the rules of an install with a reaper, so it
 * cannot pass vacuously), and likewise with processor.enabled=false and transcriber.enabled=false
 * against analysis-disabled.test.yaml. Every alert carries a `component` label and a `runbook_url` that names
 * a section of docs/runbooks.md with the four parts an on-call engineer needs.
 *
 * Needs helm in ${CANDID_TOOLS_DIR:-~/.cache/candid-tools} and promtool on PATH
 * (`bash test/install-tools.sh`); a missing tool fails the tests.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const CHART = join(ROOT, "helm/candid");
const RULES_DIR = join(CHART, "rules");
const HELM = join(process.env.CANDID_TOOLS_DIR || join(homedir(), ".cache/candid-tools"), "helm");
const HOME = /^home: (\S+)$/m.exec(readFileSync(join(CHART, "Chart.yaml"), "utf8"))![1]!;
export const RUNBOOK_BASE = `${HOME}/blob/main/docs/runbooks.md#`;
const COMPONENTS = ["candid", "gateway", "storage", "metadata", "reaper", "processor", "transcriber"];

type Rule = { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
export function loadRules(): Rule[] {
  const file = Bun.YAML.parse(readFileSync(join(RULES_DIR, "candid.rules.yaml"), "utf8")) as { groups: Array<{ rules: Rule[] }> };
  return file.groups.flatMap((g) => g.rules);
}

function run(cmd: string[], cwd = ROOT) {
  if (cmd[0] === "promtool" && !Bun.which("promtool")) throw new Error("promtool not found on PATH: run `bash test/install-tools.sh`");
  if (cmd[0] === HELM && !existsSync(HELM)) throw new Error(`helm not found at ${HELM}: run \`bash test/install-tools.sh\``);
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

/** The rules of the rendered PrometheusRule (production values plus `sets`), as promtool reads a file. */
function renderedRules(sets: string[]): string {
  const args = [HELM, "template", "candid", CHART, "-f", join(CHART, "ci/s3-monitoring-values.yaml"), "--show-only", "templates/metrics/prometheusrule.yaml"];
  for (const s of sets) args.push("--set", s);
  const r = run(args);
  if (r.code !== 0) throw new Error(r.out);
  const doc = Bun.YAML.parse(r.out) as { spec: unknown };
  return JSON.stringify(doc.spec); // JSON is YAML
}

/** promtool test rules of `testFile` against `rulesJson`, copied side by side into a temp folder. */
function promtoolTestRendered(rulesJson: string, testFile: string) {
  const dir = mkdtempSync(join(tmpdir(), "candid-rules-"));
  try {
    writeFileSync(join(dir, "rendered.rules.json"), rulesJson);
    copyFileSync(join(RULES_DIR, testFile), join(dir, testFile));
    return run(["promtool", "test", "rules", testFile], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GitHub's anchor of a Markdown heading. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");

describe("alert rules", () => {
  test("promtool check rules and the unit tests pass", () => {
    const check = run(["promtool", "check", "rules", "candid.rules.yaml"], RULES_DIR);
    expect(check.out).toContain("SUCCESS");
    const t = run(["promtool", "test", "rules", "candid.rules.test.yaml"], RULES_DIR);
    expect(t.code, t.out).toBe(0);
    expect(t.out).toContain("SUCCESS");
  });

  test("every alert is unit-tested both firing and not firing", () => {
    const tests = Bun.YAML.parse(readFileSync(join(RULES_DIR, "candid.rules.test.yaml"), "utf8")) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = loadRules().flatMap((r) => r.alert ?? []);
    expect(alerts.length).toBeGreaterThanOrEqual(15);
    const missing = alerts.flatMap((a) => {
      const mine = cases.filter((c) => c.alertname === a);
      return [...(mine.some((c) => c.exp_alerts.length > 0) ? [] : [`${a} firing`]), ...(mine.some((c) => c.exp_alerts.length === 0) ? [] : [`${a} not firing`])];
    });
    expect(missing).toEqual([]);
    expect(cases.map((c) => c.alertname).filter((a) => !alerts.includes(a)), "tests of alerts that do not exist").toEqual([]);
  });

  test("reaper.enabled=false: the chart drops the reaper's rules, and the test of that fails with them in", () => {
    const without = renderedRules(["reaper.enabled=false"]);
    const names = (json: string) => (JSON.parse(json) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record));
    expect(names(without).filter((n) => n?.startsWith("CandidReaper"))).toEqual([]);
    const ok = promtoolTestRendered(without, "reaper-disabled.test.yaml");
    expect(ok.code, ok.out).toBe(0);
    // With the reaper enabled the same rules are all there, so CandidReaperAbsent fires and the test fails.
    const withReaper = renderedRules([]);
    expect(names(withReaper)).toEqual(loadRules().map((r) => r.alert ?? r.record));
    const bad = promtoolTestRendered(withReaper, "reaper-disabled.test.yaml");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("CandidReaperAbsent");
  });

  test("processor.enabled=false, transcriber.enabled=false: the chart drops their rules, and the test of that fails with them in", () => {
    const names = (json: string) => (JSON.parse(json) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record));
    const analysis = loadRules().filter((r) => ["processor", "transcriber"].includes(r.labels?.component ?? "")).map((r) => r.alert);
    expect(analysis).toEqual(expect.arrayContaining(["CandidProcessorItemsFailing", "CandidProcessorAbsent", "CandidTranscriberErrorRatioHigh"]));
    const without = renderedRules(["processor.enabled=false", "transcriber.enabled=false"]);
    expect(names(without).filter((n) => analysis.includes(n))).toEqual([]);
    expect(names(without).length).toBe(loadRules().length - analysis.length);
    const ok = promtoolTestRendered(without, "analysis-disabled.test.yaml");
    expect(ok.code, ok.out).toBe(0);
    // With the processor enabled, CandidProcessorAbsent is there and fires: the test fails.
    const bad = promtoolTestRendered(renderedRules([]), "analysis-disabled.test.yaml");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("CandidProcessorAbsent");
    // The hosted transcription API instead of the chart's transcriber: its alert goes, the processor's stay.
    const hosted = names(renderedRules(["transcriber.enabled=false", "processor.transcriber.openaiUrl=https://api.example.com/v1"]));
    expect(hosted).not.toContain("CandidTranscriberErrorRatioHigh");
    expect(hosted).toContain("CandidProcessorAbsent");
  });

  test("every alert has a component label and a runbook_url into docs/runbooks.md, whose section says what to do", () => {
    const runbooks = readFileSync(join(ROOT, "docs/runbooks.md"), "utf8");
    const sections = new Map<string, string>();
    for (const part of runbooks.split(/^## /m).slice(1)) {
      const [heading, ...body] = part.split("\n");
      sections.set(slug(heading!), body.join("\n"));
    }
    const problems: string[] = [];
    for (const r of loadRules().filter((x) => x.alert)) {
      const a = r.alert!;
      if (!COMPONENTS.includes(r.labels?.component ?? "")) problems.push(`${a}: component label ${r.labels?.component}`);
      const url = r.annotations?.runbook_url ?? "";
      if (url !== RUNBOOK_BASE + slug(a)) problems.push(`${a}: runbook_url ${url}, want ${RUNBOOK_BASE + slug(a)}`);
      const body = sections.get(slug(a));
      if (!body) {
        problems.push(`${a}: no "## ${a}" section in docs/runbooks.md`);
        continue;
      }
      for (const part of ["**Symptom**", "**Likely causes**", "**Queries**", "**What to do**"]) if (!body.includes(part)) problems.push(`${a}: runbook lacks ${part}`);
      if (!/```promql\n[\s\S]*?candid[\s\S]*?```/.test(body) && !/```promql\n[\s\S]*?up\{/.test(body)) problems.push(`${a}: runbook has no promql query`);
    }
    // and no runbook of an alert that does not exist
    const alerts = new Set(loadRules().flatMap((r) => (r.alert ? [slug(r.alert)] : [])));
    for (const s of sections.keys()) if (s.startsWith("candid") && !alerts.has(s)) problems.push(`docs/runbooks.md: ${s} is no alert`);
    expect(problems).toEqual([]);
  });

  test("the runbooks' PromQL parses (promtool)", () => {
    const runbooks = readFileSync(join(ROOT, "docs/runbooks.md"), "utf8");
    const queries = [...runbooks.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n").filter((l) => l.trim() && !l.startsWith("#")));
    expect(queries.length).toBeGreaterThan(15);
    // promtool checks a rule file's expressions: one recording rule per query.
    const dir = mkdtempSync(join(tmpdir(), "candid-runbook-"));
    try {
      const rules = { groups: [{ name: "runbook", rules: queries.map((expr, i) => ({ record: `runbook:q${i}`, expr })) }] };
      writeFileSync(join(dir, "q.json"), JSON.stringify(rules));
      const r = run(["promtool", "check", "rules", "q.json"], dir);
      expect(r.code, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
