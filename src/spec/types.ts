/**
 * Domain types of the spec core. These are what the rest of condaops (builder, action, service)
 * consume: parsed, validated values, never raw YAML.
 */
import type { MatchSpec } from "./match-spec.ts";
import type { PipEntry } from "./pip-requirement.ts";
import type { YamlPath } from "./yaml-source.ts";

/** A conda platform name (`linux-64`, `osx-arm64`, `win-64`, ...). Validated by the schema. */
export type Platform = string;

/** `namespace/name`: the folder and the file's base name, both validated identifiers. */
export interface EnvironmentRef {
  namespace: string;
  name: string;
}

/** One conda dependency as written, parsed, and where it stands in the file. */
export interface CondaDependency {
  text: string;
  spec: MatchSpec;
  path: YamlPath;
}

/** One entry of the `pip:` list as written, parsed, and where it stands. */
export interface PipDependency {
  text: string;
  entry: PipEntry;
  path: YamlPath;
}

/** A spec file as written by a user (`<namespace>/<name>.yaml`), after schema validation and parsing. */
export interface EnvironmentSpec {
  name?: string;
  description?: string;
  channels: string[];
  /** Conda match specs, in the order written. */
  dependencies: CondaDependency[];
  /** The `pip:` list in the order written; undefined when the spec has none. */
  pip?: PipDependency[];
  variables: Record<string, string>;
  platforms?: Platform[];
}

/** A spec file located in a repository. */
export interface SpecFile extends EnvironmentRef {
  /** Path relative to the repository root: `<namespace>/<name>.yaml`. */
  path: string;
  spec: EnvironmentSpec;
}

/** The `pip:` section of an effective spec: canonical requirement texts and options. */
export interface PipSection {
  requirements: string[];
  /** `--index-url URL`, `--extra-index-url URL`, `--trusted-host HOST`, in the order written. */
  options: string[];
}

/**
 * The spec after policy is applied: what is solved, built and hashed. Its spec hash is defined in
 * spec-hash.ts.
 */
export interface EffectiveSpec extends EnvironmentRef {
  description?: string;
  /** Channels in priority order, as full URLs (bare names expanded with the alias, no trailing slash). */
  channels: string[];
  /** The policy's channel alias, kept so channels can be shown by their short names. */
  channelAlias: string;
  /** Canonical conda match specs to install: the user's, policy defaults/included, pins merged in. */
  dependencies: string[];
  /**
   * Version constraints that request nothing but limit a package when something pulls it in
   * (policy pins on names the spec does not list): `name version`. Enforced at solve time.
   */
  constraints: string[];
  /** Match specs no solve may select (policy `blocked`), enforced at solve time. */
  blocked: string[];
  pip: PipSection;
  variables: Record<string, string>;
  /** Target platforms, sorted. */
  platforms: Platform[];
}

/* ---------------------------------------------------------------- policy */

export interface BlockedPackage {
  /** The entry as written: a bare name or a match spec. */
  text: string;
  spec: MatchSpec;
  reason?: string;
}

export interface BlockedPip {
  text: string;
  name: string;
  /** PEP 440 specifier; "" blocks every version. */
  specifier: string;
  reason?: string;
}

/** conda package rules of one policy level (conda-store's conda_*_packages, plus pins and blocks). */
export interface PackageRules {
  default: string[];
  required: string[];
  included: string[];
  /** name -> conda version spec */
  pinned: Record<string, string>;
  blocked: BlockedPackage[];
}

/** pip rules of one policy level (conda-store's pypi_*_packages, plus blocks). */
export interface PipRules {
  default: string[];
  required: string[];
  included: string[];
  blocked: BlockedPip[];
}

export type ArtifactKind = "lock" | "explicit" | "yaml" | "pack" | "oci" | "sbom" | "log";

export interface BuildSettings {
  artifacts: ArtifactKind[];
  asOf: "commit" | "none";
  /**
   * keepLast: succeeded builds kept per environment (all when unset); keepOnDelete: artifact kinds
   * kept when retention removes a build (build.json always); pinned: commits (>= 7 hex) whose
   * builds retention never removes.
   */
  retention: { keepLast?: number; keepOnDelete: ArtifactKind[]; pinned: string[] };
}

/** Everything a spec is judged by, for one namespace: global policy with the namespace's overrides. */
export interface PolicyLevel {
  channels: { default: string[]; allowed: string[] };
  platforms: Platform[];
  packages: PackageRules;
  pip: PipRules;
  build: BuildSettings;
}

export type ApprovalEvent = "any-change" | "new-environment" | "removed-environment" | "new-package" | "new-channel";

export interface ApprovalRule {
  when: ApprovalEvent;
  require: "owners" | "admins";
  count: number;
}

export interface NamespacePolicy {
  owners: string[];
  description?: string;
  /** Only the parts the namespace sets; each replaces the global value whole, except build.retention, merged key by key (pins add up). */
  overrides: Partial<{
    channels: Partial<PolicyLevel["channels"]>;
    platforms: Platform[];
    packages: Partial<PackageRules>;
    pip: Partial<PipRules>;
    build: Partial<BuildSettings>;
  }>;
}

export interface Policy {
  channelAlias: string;
  admins: string[];
  approval: ApprovalRule[];
  global: PolicyLevel;
  namespaces: Record<string, NamespacePolicy>;
}
