/**
 * Applying policy to a spec: the effective spec, or the violations that refuse it.
 *
 * Channel and package rules follow conda-store's `validate_environment_*` functions step for
 * step (they are the conformance target, users migrate from them):
 *   channels: the spec's, or `default` when it lists none; every one must be `allowed` (when that
 *             list is non-empty), compared as URLs after alias expansion.
 *   conda:    `default` only when the spec has no conda dependency at all; `included` appended
 *             when the name is absent (a user's entry wins); then `required` names must be present.
 *   pip:      the same three, on the pip list, by PEP 503-normalised project name.
 * Beyond conda-store: `pinned` (must be compatible, merged into the entry or kept as a solve
 * constraint) and `blocked` (refused when every version the entry allows is blocked; otherwise
 * kept for the solver to exclude).
 */
import { satisfies as pep440Satisfies } from "@renovatebot/pep440";
import { channelUrl } from "./channel.ts";
import { formatMatchSpec, parseMatchSpec } from "./match-spec.ts";
import type { MatchSpec } from "./match-spec.ts";
import { parsePipEntry } from "./pip-requirement.ts";
import type { PipRequirement } from "./pip-requirement.ts";
import { policyFor } from "./policy.ts";
import type { BlockedPackage, EffectiveSpec, EnvironmentRef, EnvironmentSpec, Policy } from "./types.ts";
import { versionsEscape, versionsOverlap } from "./version-overlap.ts";
import type { YamlPath } from "./yaml-source.ts";

export interface PolicyViolation {
  rule: string;
  message: string;
  /** Where in the spec file the violation is (the caller turns it into line and column). */
  path: YamlPath;
}

export interface EffectiveResult {
  /** Undefined when there are violations. */
  effective?: EffectiveSpec;
  violations: PolicyViolation[];
}

interface Entry {
  spec: MatchSpec;
  /** Where it came from: the spec file (a path) or the policy (undefined). */
  path?: YamlPath;
  origin: "spec" | "default" | "included";
}

function parsed(text: string): MatchSpec {
  const r = parseMatchSpec(text);
  // Policy entries were validated when the policy was read.
  if (!r.ok) throw new Error(`unparsed policy match spec ${text}: ${r.reason}`);
  return r.spec;
}

function pipParsed(text: string): PipRequirement {
  const r = parsePipEntry(text);
  if (!r.ok || r.entry.kind !== "requirement") throw new Error(`unparsed policy pip requirement ${text}`);
  return r.entry;
}

/** `a` AND `b` as one conda version spec; alternatives are parenthesised so `,` binds as meant. */
export function intersectVersions(a: string | undefined, b: string): string {
  if (a === undefined || a === "*") return b;
  const wrap = (v: string) => (v.includes("|") ? `(${v})` : v);
  return `${wrap(a)},${wrap(b)}`;
}

function blockedBy(entry: MatchSpec, blocked: readonly BlockedPackage[]): BlockedPackage | undefined {
  return blocked.find((b) => {
    if (b.spec.name !== entry.name) return false;
    if (b.spec.build !== undefined && entry.build !== b.spec.build) return false;
    return !versionsEscape(entry.version, b.spec.version);
  });
}

export function applyPolicy(ref: EnvironmentRef, spec: EnvironmentSpec, policy: Policy): EffectiveResult {
  const level = policyFor(policy, ref.namespace);
  const alias = policy.channelAlias;
  const violations: PolicyViolation[] = [];
  const where = `namespace ${ref.namespace}`;

  // --- channels
  const fromSpec = spec.channels.length > 0;
  const channelTexts = fromSpec ? spec.channels : level.channels.default;
  const allowed = new Set(level.channels.allowed.map((c) => channelUrl(c, alias)));
  const checkChannel = (text: string, path: YamlPath): void => {
    if (text === "defaults") {
      violations.push({ rule: "policy.channel-defaults", path, message: `"defaults" is not a single channel; name the channels it stands for (e.g. https://repo.anaconda.com/pkgs/main)` });
    } else if (allowed.size > 0 && !allowed.has(channelUrl(text, alias))) {
      violations.push({ rule: "policy.channel-not-allowed", path, message: `channel "${text}" is not allowed in ${where} (allowed: ${level.channels.allowed.join(", ")})` });
    }
  };
  channelTexts.forEach((c, i) => checkChannel(c, fromSpec ? ["channels", i] : ["channels"]));
  const channels = [...new Set(channelTexts.map((c) => channelUrl(c, alias)))];

  // --- conda packages
  const entries: Entry[] = spec.dependencies.map((d) => ({ spec: d.spec, path: d.path, origin: "spec" }));
  if (entries.length === 0) for (const t of level.packages.default) entries.push({ spec: parsed(t), origin: "default" });
  const names = () => new Set(entries.map((e) => e.spec.name));
  for (const t of level.packages.included) {
    const s = parsed(t);
    if (!names().has(s.name)) entries.push({ spec: s, origin: "included" });
  }
  const present = names();
  const missing = level.packages.required.map((t) => parsed(t).name).filter((n) => !present.has(n));
  if (missing.length > 0) {
    violations.push({ rule: "policy.required-missing", path: ["dependencies"], message: `${where} requires ${missing.map((n) => `"${n}"`).join(", ")}, missing from dependencies; add ${missing.length === 1 ? "it" : "them"}` });
  }

  // A channel named in a match spec (`pytorch::torch`) must be allowed, and is searched.
  for (const e of entries) {
    if (e.spec.channel === undefined) continue;
    checkChannel(e.spec.channel, e.path ?? ["dependencies"]);
    const url = channelUrl(e.spec.channel, alias);
    if (!channels.includes(url)) channels.push(url);
  }

  const constraints: string[] = [];
  for (const [name, pin] of Object.entries(level.packages.pinned)) {
    const e = entries.find((x) => x.spec.name === name);
    if (!e) {
      constraints.push(`${name} ${pin}`);
      continue;
    }
    if (!versionsOverlap(e.spec.version, pin)) {
      violations.push({ rule: "policy.pin-conflict", path: e.path ?? ["dependencies"], message: `"${formatMatchSpec(e.spec)}" conflicts with the policy pin ${name} ${pin} in ${where}; allow versions matching ${pin}` });
      continue;
    }
    e.spec = { ...e.spec, version: intersectVersions(e.spec.version, pin) };
  }

  for (const e of entries) {
    const b = blockedBy(e.spec, level.packages.blocked);
    if (!b) continue;
    const what = b.spec.version === undefined && b.spec.build === undefined ? `"${b.spec.name}" is blocked` : `"${formatMatchSpec(e.spec)}" only allows blocked versions (${b.text})`;
    violations.push({ rule: "policy.blocked", path: e.path ?? ["dependencies"], message: `${what} by policy in ${where}${b.reason ? `: ${b.reason}` : ""}` });
  }

  // --- pip (conda-store: default when the pip list is empty, then included, then required)
  const pipReqs: { req: PipRequirement; path?: YamlPath }[] = [];
  const pipOptions: string[] = [];
  for (const d of spec.pip ?? []) {
    if (d.entry.kind === "option") pipOptions.push(d.entry.text);
    else pipReqs.push({ req: d.entry, path: d.path });
  }
  const pipPath: YamlPath = spec.pip?.[0] ? d0(spec.pip[0].path) : ["dependencies"];
  if (pipReqs.length === 0) for (const t of level.pip.default) pipReqs.push({ req: pipParsed(t) });
  for (const t of level.pip.included) {
    const r = pipParsed(t);
    if (!pipReqs.some((x) => x.req.name === r.name)) pipReqs.push({ req: r });
  }
  const pipNames = new Set(pipReqs.map((x) => x.req.name));
  const pipMissing = level.pip.required.map((t) => pipParsed(t).name).filter((n) => !pipNames.has(n));
  if (pipMissing.length > 0) {
    violations.push({ rule: "policy.pip-required-missing", path: pipPath, message: `${where} requires the pip packages ${pipMissing.map((n) => `"${n}"`).join(", ")}, missing from the pip: list; add ${pipMissing.length === 1 ? "it" : "them"}` });
  }
  for (const { req, path } of pipReqs) {
    const b = level.pip.blocked.find((x) => x.name === req.name && (x.specifier === "" || exactlyIn(req, x.specifier)));
    if (b) violations.push({ rule: "policy.pip-blocked", path: path ?? pipPath, message: `pip package "${req.name}" is blocked by policy in ${where}${b.reason ? `: ${b.reason}` : ""}` });
  }
  // pip needs pip (and so python) in the environment; conda only warns, and the build then fails.
  if (pipReqs.length > 0 && !entries.some((e) => e.spec.name === "pip")) entries.push({ spec: parsed("pip"), origin: "included" });

  if (violations.length > 0) return { violations };
  return {
    violations,
    effective: {
      namespace: ref.namespace,
      name: ref.name,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      channels,
      channelAlias: alias,
      dependencies: entries.map((e) => formatMatchSpec(e.spec)),
      constraints,
      blocked: level.packages.blocked.map((b) => formatMatchSpec(b.spec)),
      pip: { requirements: pipReqs.map((x) => x.req.text), options: pipOptions },
      variables: spec.variables,
      platforms: [...(spec.platforms ?? level.platforms)].sort(),
    },
  };
}

/** The `pip` key of the dependency that holds the pip list. */
function d0(path: YamlPath): YamlPath {
  return path.slice(0, 3);
}

/** A requirement pinned with `==V` whose V the blocked specifier covers. */
function exactlyIn(req: PipRequirement, specifier: string): boolean {
  const m = /^===?\s*([^,*\s]+)$/.exec(req.specifier);
  return m?.[1] !== undefined && pep440Satisfies(m[1], specifier);
}
