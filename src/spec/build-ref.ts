/**
 * `ns/name[@REF]` as users write it (DESIGN.md, "References"): REF is `current` (the default),
 * a full or abbreviated commit (7+ hex) or an environment hash (12+ hex). Parsed here, at the
 * edge, into a typed value; the store resolves it.
 */
import { checkIdentifier } from "./identifiers.ts";
import type { EnvironmentRef } from "./types.ts";

export interface BuildRef extends EnvironmentRef {
  ref: string;
}

export type BuildRefResult = { ok: true; value: BuildRef } | { ok: false; reason: string };

const REF = /^(current|[0-9a-f]{7,64})$/;

export function parseBuildRef(text: string): BuildRefResult {
  const at = text.indexOf("@");
  const path = at === -1 ? text : text.slice(0, at);
  const ref = at === -1 ? "current" : text.slice(at + 1).toLowerCase();
  const parts = path.split("/");
  if (parts.length !== 2) return { ok: false, reason: `"${text}" is not <namespace>/<name>[@REF]` };
  const [namespace = "", name = ""] = parts;
  for (const [kind, value] of [["namespace", namespace], ["environment name", name]] as const) {
    const r = checkIdentifier(kind, value);
    if (!r.ok) return { ok: false, reason: r.reason };
  }
  if (!REF.test(ref)) return { ok: false, reason: `"${text.slice(at + 1)}" is not a commit (7+ hex digits), an environment hash or "current"` };
  return { ok: true, value: { namespace, name, ref } };
}
