/**
 * Reading `policy.yaml` into a typed Policy, and resolving the rules that apply to one namespace.
 * Every match spec, pin and pip requirement the policy names goes through the same parsers as
 * the specs, so a typo in the policy is reported at its line instead of silently matching nothing.
 */
import { VersionSpec } from "@conda-org/rattler";
import type { Build, Channels, Packages, Pip, RawPolicy } from "../schema-types/policy.ts";
import policySchema from "../../schemas/policy.schema.json" with { type: "json" };
import { findingAt } from "./finding.ts";
import type { Finding } from "./finding.ts";
import { DEFAULT_CHANNEL_ALIAS } from "./channel.ts";
import { parseMatchSpec } from "./match-spec.ts";
import { parsePipEntry } from "./pip-requirement.ts";
import { checkSchema } from "./schema-check.ts";
import type { ArtifactKind, BlockedPackage, BlockedPip, BuildSettings, NamespacePolicy, PackageRules, PipRules, Policy, PolicyLevel } from "./types.ts";
import type { YamlPath, YamlSource } from "./yaml-source.ts";

export const ALL_ARTIFACTS: ArtifactKind[] = ["lock", "explicit", "yaml", "pack", "oci", "sbom", "log"];

/** The policy of a repository without `policy.yaml`: conda-forge, linux-64, no restrictions. */
export const DEFAULT_POLICY: Policy = {
  channelAlias: DEFAULT_CHANNEL_ALIAS,
  admins: [],
  approval: [],
  global: {
    channels: { default: ["conda-forge"], allowed: [] },
    platforms: ["linux-64"],
    packages: { default: [], required: [], included: [], pinned: {}, blocked: [] },
    pip: { default: [], required: [], included: [], blocked: [] },
    build: { artifacts: ALL_ARTIFACTS, asOf: "commit", retention: { keepOnDelete: ["lock", "explicit", "yaml", "log", "sbom"], pinned: [] } },
  },
  namespaces: {},
};

/** A level of the policy as written: the root, or one namespace. */
type RawLevel = { channels?: Channels; platforms?: string[]; packages?: Packages; pip?: Pip; build?: Build };

export interface PolicyResult {
  /** Undefined when the file has errors. */
  policy?: Policy;
  findings: Finding[];
}

/** A bare version pins the series, as `python=3.11` does in a spec: "3.11" means "3.11.*", not "==3.11". */
function pinSeries(version: string): string {
  return /^[0-9A-Za-z][0-9A-Za-z._+!]*$/.test(version) ? `${version}.*` : version;
}

/** conda-store's three package lists, for conda and for pip alike. */
const LISTS = ["default", "required", "included"] as const;

type Retention = BuildSettings["retention"];

/** Pins of both levels, in order, each once: a pin is a promise no level below may drop. */
function unionPins(above: string[], below: string[]): string[] {
  return [...new Set([...above, ...below])];
}

/**
 * One level's `build.retention` over the retention of the level above (`inherited`), key by key:
 * keep_last and keep_on_delete replace the inherited value only when written; pinned adds to it.
 */
function mergeRetention(inherited: Retention, written: NonNullable<Build["retention"]>): Retention {
  const keepLast = written.keep_last ?? inherited.keepLast;
  return {
    ...(keepLast !== undefined ? { keepLast } : {}),
    keepOnDelete: written.keep_on_delete ?? inherited.keepOnDelete,
    pinned: unionPins(inherited.pinned, (written.pinned ?? []).map((c) => c.toLowerCase())),
  };
}

/**
 * Parses one level (global or a namespace); only what it sets, validated. `build.retention` is the
 * exception: it is merged here, key by key, over `inherited` (the retention of the level above),
 * because only this level knows which of its keys were written.
 */
function readLevel(source: YamlSource, raw: RawLevel, at: YamlPath, findings: Finding[], inherited: Retention): NamespacePolicy["overrides"] {
  const bad = (path: YamlPath, rule: string, message: string) => findings.push(findingAt(source, [...at, ...path], rule, message));
  const condaSpecs = (list: string[] | undefined, key: string): string[] | undefined => {
    list?.forEach((text, i) => {
      const r = parseMatchSpec(text);
      if (!r.ok) bad(["packages", key, i], "policy.match-spec", `"${text}" is not a valid match spec (${r.reason})`);
    });
    return list;
  };
  const pipSpecs = (list: string[] | undefined, key: string): string[] | undefined => {
    list?.forEach((text, i) => {
      const r = parsePipEntry(text);
      if (!r.ok) bad(["pip", key, i], "policy.pip-requirement", `"${text}" is not a valid pip requirement (${r.reason})`);
      else if (r.entry.kind !== "requirement") bad(["pip", key, i], "policy.pip-requirement", `"${text}" is a pip option; policy lists take requirements only`);
    });
    return list;
  };

  const out: NamespacePolicy["overrides"] = {};
  if (raw.channels) {
    out.channels = {
      ...(raw.channels.default ? { default: raw.channels.default } : {}),
      ...(raw.channels.allowed ? { allowed: raw.channels.allowed } : {}),
    };
  }
  if (raw.platforms) out.platforms = raw.platforms;

  if (raw.packages) {
    const p = raw.packages;
    const packages: Partial<PackageRules> = {};
    for (const key of LISTS) {
      const list = condaSpecs(p[key], key);
      if (list) packages[key] = list;
    }
    if (p.pinned) {
      const pinned: Record<string, string> = {};
      for (const [name, version] of Object.entries(p.pinned)) {
        try {
          pinned[name.toLowerCase()] = new VersionSpec(pinSeries(version.trim()), "lenient").toString();
        } catch {
          bad(["packages", "pinned", name], "policy.pin", `pin "${name}: ${version}" is not a valid conda version spec (e.g. "3.11.*", ">=1.26,<2")`);
        }
      }
      packages.pinned = pinned;
    }
    if (p.blocked) {
      const blocked: BlockedPackage[] = [];
      p.blocked.forEach((entry, i) => {
        const text = typeof entry === "string" ? entry : entry.name;
        const reason = typeof entry === "string" ? undefined : entry.reason;
        const r = parseMatchSpec(text);
        if (!r.ok) {
          bad(["packages", "blocked", i, ...(typeof entry === "string" ? [] : ["name"])], "policy.match-spec", `"${text}" is not a valid match spec (${r.reason})`);
          return;
        }
        blocked.push({ text, spec: r.spec, ...(reason !== undefined ? { reason } : {}) });
      });
      packages.blocked = blocked;
    }
    out.packages = packages;
  }

  if (raw.pip) {
    const p = raw.pip;
    const pip: Partial<PipRules> = {};
    for (const key of LISTS) {
      const list = pipSpecs(p[key], key);
      if (list) pip[key] = list;
    }
    if (p.blocked) {
      const blocked: BlockedPip[] = [];
      p.blocked.forEach((entry, i) => {
        const text = typeof entry === "string" ? entry : entry.name;
        const reason = typeof entry === "string" ? undefined : entry.reason;
        const r = parsePipEntry(text);
        if (!r.ok || r.entry.kind !== "requirement") {
          bad(["pip", "blocked", i], "policy.pip-requirement", `"${text}" is not a valid pip requirement (${r.ok ? "options cannot be blocked" : r.reason})`);
          return;
        }
        blocked.push({ text, name: r.entry.name, specifier: r.entry.specifier, ...(reason !== undefined ? { reason } : {}) });
      });
      pip.blocked = blocked;
    }
    out.pip = pip;
  }

  if (raw.build) {
    const b = raw.build;
    const build: Partial<BuildSettings> = {};
    if (b.artifacts) build.artifacts = [...new Set<ArtifactKind>(["lock", ...b.artifacts, "log"])];
    if (b.as_of) build.asOf = b.as_of;
    if (b.retention) build.retention = mergeRetention(inherited, b.retention);
    out.build = build;
  }
  return out;
}

function overlay(base: PolicyLevel, o: NamespacePolicy["overrides"]): PolicyLevel {
  const retention = o.build?.retention;
  return {
    channels: { ...base.channels, ...o.channels },
    platforms: o.platforms ?? base.platforms,
    packages: { ...base.packages, ...o.packages },
    pip: { ...base.pip, ...o.pip },
    build: {
      ...base.build,
      ...o.build,
      // readLevel already merged a written retention over this base; merging again is a no-op for
      // those, and keeps the base's keep_last and pins for overrides built some other way.
      retention: retention ? { ...base.build.retention, ...retention, pinned: unionPins(base.build.retention.pinned, retention.pinned) } : base.build.retention,
    },
  };
}

export function readPolicy(source: YamlSource): PolicyResult {
  const schemaFindings = checkSchema(source, policySchema);
  if (schemaFindings.length > 0) return { findings: schemaFindings };
  // The schema check above makes this cast true.
  const raw = source.value as RawPolicy;
  const findings: Finding[] = [];
  const global = overlay(DEFAULT_POLICY.global, readLevel(source, raw, [], findings, DEFAULT_POLICY.global.build.retention));
  const namespaces: Record<string, NamespacePolicy> = {};
  for (const [ns, level] of Object.entries(raw.namespaces ?? {})) {
    namespaces[ns] = {
      owners: level.owners ?? [],
      ...(level.description !== undefined ? { description: level.description } : {}),
      overrides: readLevel(source, level, ["namespaces", ns], findings, global.build.retention),
    };
  }
  if (findings.length > 0) return { findings };
  return {
    findings,
    policy: {
      channelAlias: raw.channels?.alias ?? DEFAULT_CHANNEL_ALIAS,
      admins: raw.admins ?? [],
      approval: (raw.approval?.rules ?? []).map((r) => ({ when: r.when, require: r.require, count: r.count ?? 1 })),
      global,
      namespaces,
    },
  };
}

/**
 * The rules for one namespace: the global level with the namespace's overrides, each replacing a
 * list or map whole, except `build.retention`: merged key by key, pins the union of both levels.
 */
export function policyFor(policy: Policy, namespace: string): PolicyLevel {
  const ns = policy.namespaces[namespace];
  return ns ? overlay(policy.global, ns.overrides) : policy.global;
}

/** Who approves changes to a namespace: its owners, else the admins. */
export function ownersOf(policy: Policy, namespace: string): string[] {
  const owners = policy.namespaces[namespace]?.owners ?? [];
  return owners.length > 0 ? owners : policy.admins;
}
