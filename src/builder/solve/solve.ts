/**
 * Solving an effective spec into a Lock with rattler (the solver behind pixi), one target platform
 * at a time. condaops decides what the solver sees (records as of a date, minus blocked and
 * pin-excluded ones, pruned to what the spec can reach, plus the target's virtual packages) and
 * serves exactly that to rattler over loopback; `base_url` makes the solved URLs the real ones.
 * With a previous lock, rattler keeps every locked package unless the spec now forbids it
 * (minimal change: adding scipy does not upgrade python).
 */
import { randomUUID } from "node:crypto";
import { simpleSolve } from "@conda-org/rattler";
import type { Platform as RattlerPlatform } from "@conda-org/rattler";
import type { VirtualPackageVersions } from "../../config/types.ts";
import { InfraError, InputError } from "../../errors.ts";
import { channelShortName } from "../../spec/channel.ts";
import { formatMatchSpec, parseMatchSpec } from "../../spec/match-spec.ts";
import type { MatchSpec } from "../../spec/match-spec.ts";
import { specHash } from "../../spec/spec-hash.ts";
import type { EffectiveSpec, Platform } from "../../spec/types.ts";
import { redactUrl } from "../channels/redact.ts";
import type { RepodataGateway } from "../channels/repodata-gateway.ts";
import { serialiseRepodata } from "../channels/repodata.ts";
import type { RepodataRecord } from "../channels/repodata.ts";
import type { Lock, LockedPackage } from "../lock/types.ts";
import { filterRecords, reachableNames } from "./record-filter.ts";
import type { FilterStats } from "./record-filter.ts";
import { startRepodataServer } from "./repodata-server.ts";
import { isVirtual, virtualPackages } from "./virtual-packages.ts";

export interface SolveOptions {
  gateway: RepodataGateway;
  virtualPackages: VirtualPackageVersions;
  /** Solve for these instead of the spec's platforms. */
  platforms?: Platform[];
  /** A mirror: channels under the spec's alias are taken from here instead. */
  channelAlias?: string;
  /** Only packages published at or before this instant. */
  asOf?: Date;
  /** The environment's previous lock: keep its packages where the spec allows. */
  previous?: Lock;
  /** Spec file(s) recorded in the lock's `sources`. */
  sources?: string[];
  /** Extra metadata recorded in the lock. */
  metadata?: Record<string, string>;
  log?: (line: string) => void;
}

export interface PlatformSolveStats {
  platform: Platform;
  packages: number;
  recordsSeen: number;
  filtered: FilterStats;
  ms: number;
}

function parsed(text: string): MatchSpec {
  const r = parseMatchSpec(text);
  if (!r.ok) throw new InputError("spec.match-spec", `"${text}" is not a valid match spec (${r.reason})`);
  return r.spec;
}

/** The spec's channel URLs, with a mirror alias applied. */
export function resolveChannels(spec: EffectiveSpec, alias?: string): string[] {
  if (alias === undefined) return spec.channels;
  const from = `${spec.channelAlias.replace(/\/+$/, "")}/`;
  const to = `${alias.replace(/\/+$/, "")}/`;
  return spec.channels.map((c) => (c.startsWith(from) ? to + c.slice(from.length) : c));
}

/** rattler's unsatisfiability explanation, with loopback URLs turned back into channel names. */
function explain(message: string, loopback: string, channels: readonly string[], alias: string): string {
  let out = message.replace(/^Cannot solve the request because of:\s*/, "");
  channels.forEach((c, i) => {
    out = out.split(`${loopback}/c${i}/`).join(`${channelShortName(c, alias)}/`).split(`${loopback}/c${i}`).join(channelShortName(c, alias));
  });
  const lines = out.trimEnd().split("\n");
  return lines.length > 40 ? [...lines.slice(0, 40), `... (${lines.length - 40} more lines)`].join("\n") : lines.join("\n");
}

export async function solveEnvironment(spec: EffectiveSpec, opts: SolveOptions): Promise<{ lock: Lock; stats: PlatformSolveStats[] }> {
  const channels = resolveChannels(spec, opts.channelAlias);
  const alias = opts.channelAlias ?? spec.channelAlias;
  const platforms = [...new Set(opts.platforms ?? spec.platforms)].sort();
  const requested = spec.dependencies.map(parsed);
  const blocked = spec.blocked.map(parsed);
  const constraints = spec.constraints.map(parsed);
  const asOf = opts.asOf?.getTime();
  const packages: LockedPackage[] = [];
  const stats: PlatformSolveStats[] = [];

  const filteredOnce = new Map<string, { records: RepodataRecord[]; stats: FilterStats }>();
  for (const platform of platforms) {
    const started = Date.now();
    const subdirs = [platform, "noarch"];
    // Fetch every (channel, subdir) in parallel; the gateway caches and de-duplicates.
    const fetched = await Promise.all(channels.map((c) => Promise.all(subdirs.map((s) => opts.gateway.subdir(c, s)))));
    const filtered: FilterStats = { newer: 0, blocked: 0, constrained: 0 };
    // noarch is the same for every platform: filter each (channel, subdir) once per solve.
    const perChannel = fetched.map((bySubdir, i) =>
      bySubdir.map((r, j) => {
        const key = `${i}/${subdirs[j] as string}`;
        let hit = filteredOnce.get(key);
        if (!hit) {
          const stats: FilterStats = { newer: 0, blocked: 0, constrained: 0 };
          hit = { records: filterRecords(r.repodata.records, { ...(asOf !== undefined ? { asOf } : {}), blocked, constraints }, stats), stats };
          filteredOnce.set(key, hit);
        }
        filtered.newer += hit.stats.newer;
        filtered.blocked += hit.stats.blocked;
        filtered.constrained += hit.stats.constrained;
        return hit.records;
      }),
    );
    const virtual = virtualPackages(platform, opts.virtualPackages, spec.variables);
    const reach = reachableNames([...perChannel.flat(), virtual], requested.map((r) => r.name));

    // `channel::name` (and `[subdir=...]`) pin where a package comes from: rattler's WASM build
    // cannot parse URL channels inside match specs, so the other channels' records of that name
    // are withheld instead, which is what the pin means.
    const pinnedTo = new Map<string, { channel?: number; subdir?: string }>();
    for (const r of requested) {
      if (r.channel === undefined && r.subdir === undefined) continue;
      const index = r.channel === undefined ? undefined : channels.findIndex((c) => c === r.channel || channelShortName(c, alias) === r.channel || c.endsWith(`/${r.channel}`));
      if (index === -1) throw new InputError("solve.unknown-channel", `"${formatMatchSpec(r)}" names the channel "${r.channel}", which is not among the spec's channels`, { hint: "add the channel to channels:" });
      pinnedTo.set(r.name, { ...(index !== undefined ? { channel: index } : {}), ...(r.subdir !== undefined ? { subdir: r.subdir } : {}) });
    }
    const allowed = (r: RepodataRecord, channel: number, subdir: string): boolean => {
      const pin = pinnedTo.get(r.name);
      return !pin || ((pin.channel === undefined || pin.channel === channel) && (pin.subdir === undefined || pin.subdir === subdir));
    };

    const server = await startRepodataServer();
    // A fresh path per solve: rattler may cache repodata by URL within the process, and a later
    // solve can get the same ephemeral port back.
    const root = `${server.url}/${randomUUID().slice(0, 8)}`;
    let solved: Awaited<ReturnType<typeof simpleSolve>>;
    // Solved packages are recognised by URL: base_url makes them the real channel's URLs.
    const byUrl = new Map<string, { record: RepodataRecord; channel: number; subdir: string }>();
    let recordsSeen = 0;
    try {
      perChannel.forEach((bySubdir, i) => {
        bySubdir.forEach((records, j) => {
          const subdir = subdirs[j] as string;
          const base = `${redactUrl(channels[i] as string)}/${subdir}/`;
          const kept = records.filter((r) => reach.has(r.name) && allowed(r, i, subdir));
          recordsSeen += kept.length;
          for (const r of kept) byUrl.set(base + r.fn, { record: r, channel: i, subdir });
          server.put(`${new URL(root).pathname}/c${i}/${subdir}/repodata.json`, serialiseRepodata(subdir, kept, base));
        });
      });
      const vi = channels.length;
      server.put(`${new URL(root).pathname}/c${vi}/${platform}/repodata.json`, serialiseRepodata(platform, virtual));
      server.put(`${new URL(root).pathname}/c${vi}/noarch/repodata.json`, serialiseRepodata("noarch", []));
      const loopbackChannels = [...channels.map((_, i) => `${root}/c${i}`), `${root}/c${vi}`];
      const specs = requested.map((r) => formatMatchSpec({ ...r, channel: undefined, subdir: undefined }));
      // Only locked packages the solver may still choose: a package since blocked, excluded by a
      // pin or hidden by the as-of date must not come back through the previous lock.
      const locked = (opts.previous?.packages ?? [])
        .filter((p) => p.platform === platform && p.manager === "conda" && byUrl.has(p.url))
        .map((p) => ({ packageName: p.name, version: p.version, build: p.build, buildNumber: BigInt(p.buildNumber), url: p.url, filename: p.filename, subdir: p.subdir, depends: p.depends }));
      try {
        solved = await simpleSolve(specs, loopbackChannels, [platform as RattlerPlatform, "noarch"], locked.length > 0 ? locked : undefined);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (/cannot solve|no candidates|cannot be installed|conflict/i.test(message)) {
          throw new InputError("solve.unsatisfiable", `the spec cannot be solved for ${platform}${opts.asOf ? ` as of ${opts.asOf.toISOString()}` : ""}:\n${explain(message, root, channels, alias)}`, {
            hint: "relax a version constraint, or check the package names and channels",
          });
        }
        throw new InfraError("solve.failed", `the solver failed for ${platform}: ${explain(message, root, channels, alias)}`, { cause: e });
      }
    } finally {
      await server.close();
    }

    let count = 0;
    for (const s of solved) {
      if (isVirtual(s.packageName)) continue;
      const found = byUrl.get(s.url);
      const channel = found ? channels[found.channel] : undefined;
      if (!found || channel === undefined) throw new InfraError("solve.unknown-record", `the solver returned ${redactUrl(s.url)}, which condaops did not give it`);
      const { record, subdir } = found;
      if (!record.sha256 || !record.md5) {
        throw new InfraError("repodata.no-hash", `${redactUrl(channel)}/${subdir}/${record.fn} has no sha256 or md5 in repodata; it cannot be locked verifiably`, { hint: "use a channel whose index carries hashes" });
      }
      const shown = redactUrl(channel);
      packages.push({
        name: record.name,
        version: record.version,
        build: record.build,
        buildNumber: record.build_number,
        platform,
        subdir,
        channel: shown,
        url: `${shown}/${subdir}/${record.fn}`,
        filename: record.fn,
        sha256: record.sha256,
        md5: record.md5,
        ...(record.size !== undefined ? { size: record.size } : {}),
        depends: record.depends,
        constrains: record.constrains ?? [],
        ...(record.license !== undefined ? { license: record.license } : {}),
        ...(record.timestamp !== undefined ? { timestamp: record.timestamp } : {}),
        ...(record.noarch === "python" || record.noarch === "generic" ? { noarch: record.noarch } : {}),
        manager: "conda",
        category: "main",
        optional: false,
      });
      count++;
    }
    const ms = Date.now() - started;
    stats.push({ platform, packages: count, recordsSeen, filtered, ms });
    opts.log?.(`solved ${platform}: ${count} packages from ${recordsSeen} candidate records (${ms} ms)`);
  }

  const hash = specHash(spec);
  packages.sort((a, b) => (a.platform === b.platform ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.platform < b.platform ? -1 : 1));
  const lock: Lock = {
    platforms,
    channels: channels.map(redactUrl),
    contentHash: Object.fromEntries(platforms.map((p) => [p, hash])),
    sources: opts.sources ?? [],
    packages,
    metadata: { ...(opts.metadata ?? {}), ...(opts.asOf ? { "condaops.as-of": opts.asOf.toISOString() } : {}) },
  };
  return { lock, stats };
}
