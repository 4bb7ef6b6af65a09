/**
 * Pure questions about two conda version specs, for policy pins and blocked packages. Rattler has no
 * spec intersection, so we probe: rattler's matcher tests candidates built around every literal of
 * both specs (itself, .0, .1, .999, last segment ±1, next minor/major, its 0a0 pre-release), 0 and a
 * huge version. Limit: a witness between probes (a `dev` pre-release, another epoch) is missed.
 */
import { Version, VersionSpec } from "@conda-org/rattler";

/** True when some version satisfies both specs (undefined = any version). */
export function versionsOverlap(a: string | undefined, b: string | undefined): boolean {
  return someVersion(a, b, (inA, inB) => inA && inB);
}

/** True when some version satisfies `spec` but not `excluded` (i.e. the spec is NOT entirely inside the excluded set). */
export function versionsEscape(spec: string | undefined, excluded: string | undefined): boolean {
  return someVersion(spec, excluded, (inSpec, inExcluded) => inSpec && !inExcluded);
}

function someVersion(a: string | undefined, b: string | undefined, wanted: (inA: boolean, inB: boolean) => boolean): boolean {
  const specA = a === undefined ? undefined : compile(a);
  const specB = b === undefined ? undefined : compile(b);
  try {
    for (const text of probes([a ?? "", b ?? ""])) {
      let v: Version;
      try {
        v = new Version(text);
      } catch {
        continue; // a derived string that is not a version (e.g. from a local part)
      }
      const found = wanted(specA?.matches(v) ?? true, specB?.matches(v) ?? true);
      v.free();
      if (found) return true;
    }
    return false;
  } finally {
    specA?.free();
    specB?.free();
  }
}

function compile(spec: string): VersionSpec {
  try {
    return new VersionSpec(spec, "lenient");
  } catch {
    throw new Error(`invalid version spec "${spec}"`);
  }
}

/** Candidate versions, each a string rattler accepts. */
function probes(specs: string[]): Set<string> {
  const out = new Set(["0", "999999999"]);
  const literals = specs.flatMap((s) => s.split(/[,|()]/)).map((p) => p.replace(/^[<>=!~]+/, "").replace(/\.?\*+$/, ""));
  for (const lit of literals) {
    let v: Version;
    try {
      v = new Version(lit);
    } catch {
      continue; // "", "*" and the like
    }
    for (const suffix of ["", ".0", ".1", ".999"]) out.add(lit + suffix);
    const last = /^(.*?)(\d+)$/.exec(lit);
    if (last) {
      const n = Number(last[2]);
      out.add(`${last[1]}${n + 1}`);
      if (n > 0) out.add(`${last[1]}${n - 1}`);
    }
    for (const derive of [() => v.bumpMinor(), () => v.bumpMajor(), () => v.withAlpha()]) {
      try {
        const d = derive();
        out.add(d.toString());
        d.free();
      } catch {
        // a literal rattler cannot bump (e.g. no numeric segment)
      }
    }
    v.free();
  }
  return out;
}
