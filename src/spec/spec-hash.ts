/**
 * The spec hash: what identifies "the same effective spec" across commits, files and machines.
 *
 * Canonical form (version 1): the JSON object below serialised by RFC 8785 (JSON Canonicalization
 * Scheme: keys sorted by UTF-16 code units, no whitespace, ECMAScript number and string forms),
 * UTF-8 encoded, hashed with sha256, written as lowercase hex.
 *
 *   { "v": 1,
 *     "channels":     full channel URLs, in priority order (order changes the solve),
 *     "dependencies": canonical match specs, sorted (order does not),
 *     "constraints":  sorted, "blocked": sorted,
 *     "pip":          { "requirements": sorted, "options": in order },
 *     "variables":    the mapping,
 *     "platforms":    sorted }
 *
 * The namespace, name and description are left out: they do not change what gets installed,
 * so renaming an environment or editing its description does not force a rebuild, and two
 * environments with the same content share a hash (and a committed lock).
 */
import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { EffectiveSpec } from "./types.ts";

// canonicalize 2.x is CommonJS (`module.exports = serialize`) but its typings declare an ES default
// export, which TypeScript's NodeNext interop reads as `{ default }`: the value is the function.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export const SPEC_HASH_VERSION = 1;

const sorted = (xs: readonly string[]): string[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The exact string that is hashed. */
export function canonicalSpecJson(spec: EffectiveSpec): string {
  const doc = {
    v: SPEC_HASH_VERSION,
    channels: spec.channels,
    dependencies: sorted(spec.dependencies),
    constraints: sorted(spec.constraints),
    blocked: sorted(spec.blocked),
    pip: { requirements: sorted(spec.pip.requirements), options: spec.pip.options },
    variables: spec.variables,
    platforms: sorted(spec.platforms),
  };
  const out = canonicalize(doc);
  if (out === undefined) throw new Error("effective spec is not serialisable");
  return out;
}

/** sha256 (hex) of the canonical JSON. */
export function specHash(spec: EffectiveSpec): string {
  return createHash("sha256").update(canonicalSpecJson(spec), "utf8").digest("hex");
}
