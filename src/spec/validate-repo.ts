/**
 * Validating an environments repository (or some of its specs) as `condaops validate`, the
 * GitHub Action and the builder all need it: read through FileTrees, so "the policy at the base
 * commit" and "the specs of the pull request" are just two trees. Returns findings, the effective
 * specs with their hashes, and the approvals the change needs; never throws for bad input.
 */
import type { FileTree } from "../git/file-tree.ts";
import { isCondaopsError } from "../errors.ts";
import { requiredApprovals } from "./approval.ts";
import type { ApprovalRequirement, SpecSnapshot } from "./approval.ts";
import { channelUrl } from "./channel.ts";
import { applyPolicy } from "./effective-spec.ts";
import { readEnvironmentSpec } from "./environment.ts";
import { findingAt } from "./finding.ts";
import type { Finding } from "./finding.ts";
import { DEFAULT_POLICY, readPolicy } from "./policy.ts";
import { POLICY_FILE, classifyPath } from "./repo-layout.ts";
import { specHash } from "./spec-hash.ts";
import type { EffectiveSpec, EnvironmentRef, EnvironmentSpec, Policy } from "./types.ts";
import { DEFAULT_YAML_LIMITS, parseYaml } from "./yaml-source.ts";
import type { YamlSource } from "./yaml-source.ts";

export interface ValidatedSpec extends EnvironmentRef {
  path: string;
  /** Present when the spec passed schema and policy. */
  effective?: EffectiveSpec;
  specHash?: string;
}

export interface ValidationReport {
  findings: Finding[];
  specs: ValidatedSpec[];
  approvals: ApprovalRequirement[];
  /** Where the judging policy came from: a tree label, or "(default)" when there is no policy.yaml. */
  policySource: string;
  /** The judging policy; undefined when its policy.yaml is invalid (the findings say why). */
  policy?: Policy;
}

export interface ValidateOptions {
  /** Repository-relative spec paths to check; default every spec of the tree. */
  only?: readonly string[];
  /** Base of a change: its policy judges, only changed specs are checked, approvals computed. */
  base?: { tree: FileTree; changed: readonly string[] };
}

function fileFinding(file: string, rule: string, message: string, severity: Finding["severity"] = "error"): Finding {
  return { file, line: 1, column: 1, rule, message, severity };
}

/** Reads and parses a YAML file of the tree; a finding instead of a throw for anything the input did wrong. */
async function loadYaml(tree: FileTree, path: string): Promise<YamlSource | Finding | undefined> {
  const size = await tree.size(path);
  if (size === undefined) return undefined;
  if (size > DEFAULT_YAML_LIMITS.maxBytes) {
    return fileFinding(path, "yaml.too-large", `file is ${size} bytes, more than the limit of ${DEFAULT_YAML_LIMITS.maxBytes}; a spec or policy this large is almost certainly a mistake`);
  }
  const bytes = await tree.read(path);
  if (bytes === undefined) return undefined;
  try {
    return parseYaml(path, bytes);
  } catch (e) {
    if (isCondaopsError(e) && e.exitCode === 1) {
      return { file: path, line: e.position?.line ?? 1, column: e.position?.column ?? 1, rule: e.code, message: e.hint ? `${e.message}; ${e.hint}` : e.message, severity: "error" };
    }
    throw e;
  }
}

const isFinding = (x: YamlSource | Finding): x is Finding => "rule" in x;

/** The policy of a tree: DEFAULT_POLICY when it has no policy.yaml; findings when it is invalid. */
export async function loadPolicy(tree: FileTree): Promise<{ policy?: Policy; findings: Finding[]; source: string }> {
  const src = await loadYaml(tree, POLICY_FILE);
  if (src === undefined) return { policy: DEFAULT_POLICY, findings: [], source: "(default: no policy.yaml)" };
  if (isFinding(src)) return { findings: [src], source: `${POLICY_FILE} at ${tree.label}` };
  const r = readPolicy(src);
  return { ...r, source: `${POLICY_FILE} at ${tree.label}` };
}

/** Reads one spec file; the parsed spec or findings. */
export async function loadSpec(tree: FileTree, path: string, ref: EnvironmentRef): Promise<{ spec?: EnvironmentSpec; source?: YamlSource; findings: Finding[] }> {
  const src = await loadYaml(tree, path);
  if (src === undefined) return { findings: [fileFinding(path, "spec.missing", `${path} does not exist in ${tree.label}`)] };
  if (isFinding(src)) return { findings: [src] };
  return { ...readEnvironmentSpec(src, ref), source: src };
}

function snapshot(path: string, ref: EnvironmentRef, spec: EnvironmentSpec, policy: Policy): SpecSnapshot {
  return {
    ...ref,
    path,
    packages: [...spec.dependencies.map((d) => d.spec.name), ...(spec.pip ?? []).flatMap((p) => (p.entry.kind === "requirement" ? [`pip:${p.entry.name}`] : []))],
    channels: [...spec.channels, ...spec.dependencies.flatMap((d) => (d.spec.channel ? [d.spec.channel] : []))].map((c) => channelUrl(c, policy.channelAlias)),
  };
}

async function snapshots(tree: FileTree, policy: Policy): Promise<SpecSnapshot[]> {
  const out: SpecSnapshot[] = [];
  for (const path of await tree.list()) {
    const c = classifyPath(path);
    if (c.kind !== "spec") continue;
    const { spec } = await loadSpec(tree, path, c.ref);
    if (spec) out.push(snapshot(path, c.ref, spec, policy));
  }
  return out;
}

export async function validateRepository(head: FileTree, options: ValidateOptions = {}): Promise<ValidationReport> {
  const findings: Finding[] = [];
  const paths = await head.list();
  const changed = options.base ? new Set(options.base.changed) : undefined;
  const selected = (path: string) => (options.only ? options.only.includes(path) : changed ? changed.has(path) : true);

  // The judging policy: the base's when there is a base (a change cannot loosen its own check).
  const judging = await loadPolicy(options.base?.tree ?? head);
  findings.push(...judging.findings);
  if (options.base && changed?.has(POLICY_FILE) && paths.includes(POLICY_FILE)) {
    // The new policy is not used for judging, but a broken one must not be merged either.
    findings.push(...(await loadPolicy(head)).findings);
  }

  const specs: ValidatedSpec[] = [];
  const headSnapshots: SpecSnapshot[] = [];
  const targets = options.only ?? paths;
  for (const path of targets) {
    const c = classifyPath(path);
    if (c.kind === "invalid") {
      if (selected(path)) findings.push(fileFinding(path, "repo.layout", c.reason));
      continue;
    }
    if (c.kind !== "spec") {
      if (options.only) findings.push(fileFinding(path, "repo.not-a-spec", `${path} is not a spec (<namespace>/<name>.yaml)`));
      continue;
    }
    if (!selected(path)) continue;
    const loaded = await loadSpec(head, path, c.ref);
    findings.push(...loaded.findings);
    const entry: ValidatedSpec = { ...c.ref, path };
    specs.push(entry);
    if (!loaded.spec || !loaded.source || !judging.policy) continue;
    headSnapshots.push(snapshot(path, c.ref, loaded.spec, judging.policy));
    const { effective, violations } = applyPolicy(c.ref, loaded.spec, judging.policy);
    // A violation about a whole list (`dependencies`) points at its key, one about an entry at the entry.
    for (const v of violations) findings.push(findingAt(loaded.source, v.path, v.rule, v.message, "error", typeof v.path.at(-1) === "string" ? "key" : "value"));
    if (effective) {
      entry.effective = effective;
      entry.specHash = specHash(effective);
    }
  }

  let approvals: ApprovalRequirement[] = [];
  if (options.base && judging.policy) {
    const changedSpecs = [...(changed ?? [])].filter((p) => classifyPath(p).kind === "spec");
    approvals = requiredApprovals({
      policy: judging.policy,
      base: await snapshots(options.base.tree, judging.policy),
      head: headSnapshots,
      changedSpecs,
      policyChanged: changed?.has(POLICY_FILE) ?? false,
    });
  }
  return { findings, specs, approvals, policySource: judging.source, ...(judging.policy ? { policy: judging.policy } : {}) };
}
