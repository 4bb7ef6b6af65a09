/**
 * What the solver may see. Pure functions over repodata records:
 *  - as-of: records published after a date are dropped, so a commit solves next year as it
 *    solved the day it was merged (records without a timestamp are kept: old channels lack them);
 *  - blocked: records matching a policy block are dropped, so no solve can pick them;
 *  - constraints: records of a pinned name that the pin excludes are dropped;
 *  - reachable: only records whose names the requested specs can reach through `depends`, so
 *    the solver parses a few thousand records instead of the whole channel.
 */
import { Version, VersionSpec } from "@conda-org/rattler";
import type { MatchSpec } from "../../spec/match-spec.ts";
import type { RepodataRecord } from "../channels/repodata.ts";

/** The package name a repodata depends/constrains string is about (`python >=3.11` -> `python`). */
export function dependencyName(dep: string): string {
  const m = /^\s*(?:[^\s:]+::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)/.exec(dep);
  return (m?.[1] ?? dep).toLowerCase();
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
}

/** A matcher for one match spec (name, version, build; channel and subdir are the caller's business). */
export function recordMatcher(spec: MatchSpec): (r: RepodataRecord) => boolean {
  const version = spec.version === undefined ? undefined : new VersionSpec(spec.version, "lenient");
  const build = spec.build === undefined ? undefined : globToRegExp(spec.build);
  const buildNumber = spec.extra.build_number === undefined ? undefined : Number(spec.extra.build_number);
  return (r) => {
    if (r.name !== spec.name) return false;
    if (build && !build.test(r.build)) return false;
    if (buildNumber !== undefined && r.build_number !== buildNumber) return false;
    if (version) {
      try {
        return version.matches(new Version(r.version));
      } catch {
        return false; // an unparsable version cannot be what the spec means
      }
    }
    return true;
  };
}

export interface FilterOptions {
  /** Keep only records published at or before this time (ms since the epoch). */
  asOf?: number;
  /** Drop records matching any of these. */
  blocked?: readonly MatchSpec[];
  /** For each of these names, drop records that do not match. */
  constraints?: readonly MatchSpec[];
}

export interface FilterStats {
  newer: number;
  blocked: number;
  constrained: number;
}

export function filterRecords(records: readonly RepodataRecord[], opts: FilterOptions, stats: FilterStats = { newer: 0, blocked: 0, constrained: 0 }): RepodataRecord[] {
  const blocked = new Map<string, ((r: RepodataRecord) => boolean)[]>();
  for (const b of opts.blocked ?? []) blocked.set(b.name, [...(blocked.get(b.name) ?? []), recordMatcher(b)]);
  const constraints = new Map<string, ((r: RepodataRecord) => boolean)[]>();
  for (const c of opts.constraints ?? []) constraints.set(c.name, [...(constraints.get(c.name) ?? []), recordMatcher(c)]);
  const out: RepodataRecord[] = [];
  for (const r of records) {
    if (opts.asOf !== undefined && r.timestamp !== undefined && r.timestamp > opts.asOf) {
      stats.newer++;
      continue;
    }
    if (blocked.get(r.name)?.some((m) => m(r))) {
      stats.blocked++;
      continue;
    }
    const cs = constraints.get(r.name);
    if (cs && !cs.every((m) => m(r))) {
      stats.constrained++;
      continue;
    }
    out.push(r);
  }
  return out;
}

/** Names reachable from `roots` through the `depends` of any record of those names. */
export function reachableNames(groups: readonly (readonly RepodataRecord[])[], roots: Iterable<string>): Set<string> {
  const byName = new Map<string, RepodataRecord[]>();
  for (const records of groups) {
    for (const r of records) {
      const list = byName.get(r.name);
      if (list) list.push(r);
      else byName.set(r.name, [r]);
    }
  }
  const seen = new Set<string>();
  const queue = [...roots].map((n) => n.toLowerCase());
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const r of byName.get(name) ?? []) for (const d of r.depends) {
      const n = dependencyName(d);
      if (!seen.has(n)) queue.push(n);
    }
  }
  return seen;
}
