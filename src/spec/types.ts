/**
 * Domain types of the spec core. These are what the rest of condaops (builder, action, service)
 * consume: parsed, validated values, never raw YAML.
 */

/** A conda platform name (`linux-64`, `osx-arm64`, `win-64`, `noarch`, ...). Validated by rattler. */
export type Platform = string;

/** `namespace/name`: the folder and the file's base name, both validated identifiers. */
export interface EnvironmentRef {
  namespace: string;
  name: string;
}

/** The `pip:` block of a spec: PEP 508 requirements and pip options, in the order written. */
export interface PipSection {
  requirements: string[];
  /** `--index-url URL`, `--extra-index-url URL`, `--trusted-host HOST`, each as one string. */
  options: string[];
}

/** A spec file as written by a user (`<namespace>/<name>.yaml`), after schema validation. */
export interface EnvironmentSpec {
  name?: string;
  description?: string;
  channels: string[];
  /** Conda match specs, in the order written. */
  dependencies: string[];
  pip?: PipSection;
  variables: Record<string, string>;
  platforms?: Platform[];
}

/** A spec file located in a repository. */
export interface SpecFile extends EnvironmentRef {
  /** Path relative to the repository root: `<namespace>/<name>.yaml`. */
  path: string;
  spec: EnvironmentSpec;
}

/**
 * The spec after policy is applied: what is solved, built and hashed. Its canonical JSON's
 * sha256 is the spec hash (see spec-hash.ts for the canonical form).
 */
export interface EffectiveSpec extends EnvironmentRef {
  description?: string;
  /**
   * Channels in priority order, canonical: a channel under the policy's alias is its bare name
   * (`conda-forge`), any other is its URL without a trailing slash.
   */
  channels: string[];
  /** Policy's channel alias the bare names expand with (`https://conda.anaconda.org`). */
  channelAlias: string;
  /** Conda match specs to install: the user's, policy defaults/included, pins merged in. */
  dependencies: string[];
  /**
   * Constraints that do not request a package but limit its versions when something pulls it in
   * (policy pins on names the spec does not list). Enforced at solve time.
   */
  constraints: string[];
  /** Match specs no solve may select (policy `blocked`), enforced at solve time. */
  blocked: string[];
  pip: PipSection;
  variables: Record<string, string>;
  platforms: Platform[];
}
