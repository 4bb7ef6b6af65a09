/**
 * A committed lock is installed verbatim, so it must obey everything a solve would: it is input a
 * pull request controls, and its `content_hash` (the spec hash) proves nothing since anyone can
 * compute it. Checked here, by the Action on every PR that touches a lock and by the builder
 * before it uses one: every platform of the spec and no other, every package from one of the
 * spec's channels (or their mirror under the configured channel alias) with a URL inside that
 * channel and subdir, nothing the policy blocks, and every requested package present in a
 * version its spec allows. Pure.
 */
import type { Finding } from "../../spec/finding.ts";
import { parseMatchSpec } from "../../spec/match-spec.ts";
import type { MatchSpec } from "../../spec/match-spec.ts";
import type { EffectiveSpec } from "../../spec/types.ts";
import { dependencyName, recordMatcher } from "../solve/record-filter.ts";
import type { Lock, LockedPackage } from "./types.ts";

export interface LockPolicyOptions {
  /** A mirror the lock may have been made against (`condaops lock --channel-alias`, config `channel_alias`). */
  channelAlias?: string;
}

const strip = (u: string): string => u.replace(/\/+$/, "");

function specs(texts: readonly string[]): MatchSpec[] {
  return texts.flatMap((t) => {
    const r = parseMatchSpec(t);
    return r.ok ? [r.spec] : [];
  });
}

const asRecord = (p: LockedPackage) => ({ name: p.name, version: p.version, build: p.build, build_number: p.buildNumber, depends: [], subdir: p.subdir, fn: p.filename });

export function checkLockPolicy(lock: Lock, effective: EffectiveSpec, file: string, options: LockPolicyOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const add = (message: string) => findings.push({ file, line: 1, column: 1, rule: "lock.policy", message, severity: "error" });

  const want = [...effective.platforms].sort().join(", ");
  const have = [...lock.platforms].sort().join(", ");
  if (want !== have) add(`the lock is for ${have || "no platform"}, the spec for ${want}`);

  const alias = strip(effective.channelAlias);
  const allowed = new Set(effective.channels.map(strip));
  if (options.channelAlias) {
    for (const c of effective.channels) if (strip(c).startsWith(`${alias}/`)) allowed.add(`${strip(options.channelAlias)}${strip(c).slice(alias.length)}`);
  }
  const blocked = specs(effective.blocked).map((s) => ({ text: s.name, match: recordMatcher(s) }));
  const constraints = effective.constraints.flatMap((t) => {
    const r = parseMatchSpec(t);
    return r.ok ? [{ name: r.spec.name, text: t, match: recordMatcher(r.spec) }] : [];
  });
  for (const p of lock.packages) {
    const where = `${p.name} ${p.version} ${p.build} (${p.platform})`;
    if (p.manager !== "conda") {
      // Published verbatim (pinned YAML, explicit file) but not yet held to the pip policy: refused until it is.
      add(`${where} is a pip package: committed locks with pip entries are not supported yet`);
      continue;
    }
    if (!allowed.has(strip(p.channel))) add(`${where} comes from ${p.channel}, which is not one of the spec's channels (${[...allowed].join(", ")})`);
    if (p.url !== `${strip(p.channel)}/${p.subdir}/${p.filename}`) add(`${where} has the URL ${p.url}, which is not ${strip(p.channel)}/${p.subdir}/${p.filename}`);
    if (p.subdir !== p.platform && p.subdir !== "noarch") add(`${where} is from subdir ${p.subdir}, not ${p.platform} or noarch`);
    const hit = blocked.find((b) => b.match(asRecord(p)));
    if (hit) add(`${where} is blocked by policy`);
    const pin = constraints.find((c) => c.name === p.name && !c.match(asRecord(p)));
    if (pin) add(`${where} breaks the policy's pin "${pin.text}"`);
  }
  for (const platform of lock.platforms) {
    const here = lock.packages.filter((p) => p.platform === platform);
    // Everything must be needed: a package nothing requested depends on is a package the spec
    // never asked for (and no "new package" approval ever saw).
    const byName = new Map(here.map((p) => [p.name, p]));
    const needed = new Set<string>();
    const queue = specs(effective.dependencies).map((s) => s.name);
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (needed.has(name)) continue;
      needed.add(name);
      for (const d of byName.get(name)?.depends ?? []) queue.push(dependencyName(d));
    }
    for (const p of here) if (!needed.has(p.name)) add(`${p.name} ${p.version} ${p.build} (${platform}) is in the lock, but nothing the spec requests depends on it`);
    for (const s of specs(effective.dependencies)) {
      const match = recordMatcher(s);
      const named = here.filter((p) => p.name === s.name);
      if (named.length === 0) add(`${s.name} is requested by the spec but not in the lock for ${platform}`);
      else if (!named.some((p) => match(asRecord(p)))) add(`${named[0]?.name} ${named[0]?.version} ${named[0]?.build} in the lock for ${platform} does not satisfy the spec's "${[s.name, s.version, s.build].filter(Boolean).join(" ")}"`);
    }
  }
  return findings;
}
