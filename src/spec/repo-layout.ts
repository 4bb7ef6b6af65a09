/**
 * What each path of an environments repository is (DESIGN.md, "The environments repository"):
 *   policy.yaml                   the policy
 *   <namespace>/<name>.yaml       a spec
 *   <namespace>/<name>.lock.yml   a committed lock
 * Hidden paths (`.github/`), the README and other non-YAML files are ignored; YAML in the wrong
 * place, or with a name that cannot be a namespace or environment, is an error, not ignored:
 * a spec a user believes is built must not be silently skipped.
 */
import { checkIdentifier } from "./identifiers.ts";
import type { EnvironmentRef } from "./types.ts";

export const POLICY_FILE = "policy.yaml";

export type RepoPath =
  | { kind: "policy" }
  | { kind: "spec"; ref: EnvironmentRef }
  | { kind: "lock"; ref: EnvironmentRef }
  | { kind: "ignored" }
  | { kind: "invalid"; reason: string };

const ROOT_FILES_IGNORED = new Set(["condaops.config.yaml"]);

export function classifyPath(path: string): RepoPath {
  const parts = path.split("/");
  // Tool folders at the root (.github, .vscode) are not namespaces; a hidden file inside a
  // namespace is an error below, so a spec cannot hide from validation.
  if (parts[0]?.startsWith(".")) return { kind: "ignored" };
  const file = parts.at(-1) ?? "";
  const yaml = /\.ya?ml$/.test(file);
  if (!yaml) return { kind: "ignored" };
  if (parts.length === 1) {
    if (file === POLICY_FILE) return { kind: "policy" };
    if (ROOT_FILES_IGNORED.has(file)) return { kind: "ignored" };
    return { kind: "invalid", reason: `YAML at the repository root is not read (only ${POLICY_FILE}); specs go in a namespace folder: <namespace>/${file}` };
  }
  if (parts.length > 2) {
    return { kind: "invalid", reason: `specs live one folder deep (<namespace>/<name>.yaml); move it to ${parts[0]}/${file}` };
  }
  const namespace = parts[0] ?? "";
  const lock = /^(.*)\.lock\.ya?ml$/.exec(file);
  const spec = /^(.*)\.yaml$/.exec(file);
  const name = lock?.[1] ?? spec?.[1];
  if (name === undefined) return { kind: "invalid", reason: `spec files end in .yaml; rename it to ${namespace}/${file.replace(/\.yml$/, ".yaml")}` };
  const ns = checkIdentifier("namespace", namespace);
  if (!ns.ok) return { kind: "invalid", reason: ns.reason };
  const n = checkIdentifier("environment name", name);
  if (!n.ok) return { kind: "invalid", reason: n.reason };
  return lock ? { kind: "lock", ref: { namespace, name } } : { kind: "spec", ref: { namespace, name } };
}

export function specPath(ref: EnvironmentRef): string {
  return `${ref.namespace}/${ref.name}.yaml`;
}
