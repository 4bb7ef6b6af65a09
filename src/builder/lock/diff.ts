/**
 * What changes between two locks, per platform: the package diff the GitHub Action comments on a
 * pull request and `condaops diff` prints. Packages are matched by (manager, name) within a
 * platform; versions are ordered by conda's rules (rattler's Version), so `1.10` is an upgrade
 * from `1.9` and `2.0rc1` a downgrade from `2.0`.
 *
 * Each matched pair is one of: upgraded / downgraded (the version moved), channel-changed (same
 * version, another channel: a provenance change a reviewer should see), rebuilt (same version and
 * channel, another build string or sha256), or unchanged (counted, not listed). Platforms present
 * on one side only are reported as added / removed platforms with their package count, not as
 * hundreds of added packages.
 */
import { Version } from "@conda-org/rattler";
import { markdownText as md } from "../../markdown.ts";
import { DEFAULT_CHANNEL_ALIAS, channelShortName } from "../../spec/channel.ts";
import type { Platform } from "../../spec/types.ts";
import { compareStrings } from "./package-record.ts";
import type { Lock, LockedPackage } from "./types.ts";

/** One side of a change: what a reviewer needs to tell two builds of a package apart. */
export interface PackageState {
  version: string;
  build: string;
  channel: string;
  subdir: string;
  url: string;
  sha256: string;
}

interface EntryBase {
  name: string;
  manager: LockedPackage["manager"];
}

export interface AddedEntry extends EntryBase {
  kind: "added";
  after: PackageState;
}

export interface RemovedEntry extends EntryBase {
  kind: "removed";
  before: PackageState;
}

export interface ChangedEntry extends EntryBase {
  kind: "upgraded" | "downgraded" | "rebuilt" | "channel-changed";
  before: PackageState;
  after: PackageState;
}

/** One listed difference, discriminated by `kind`. */
export type LockDiffEntry = AddedEntry | RemovedEntry | ChangedEntry;
export type LockDiffKind = LockDiffEntry["kind"];

/** The kinds in the order they are counted and summarised. */
export const DIFF_KINDS: readonly LockDiffKind[] = ["added", "removed", "upgraded", "downgraded", "rebuilt", "channel-changed"];

export interface PlatformDiff {
  platform: Platform;
  /** Sorted by name, then manager. */
  entries: LockDiffEntry[];
  /** Packages present and identical on both sides. */
  unchanged: number;
}

export interface PlatformPresence {
  platform: Platform;
  packages: number;
}

export interface LockDiff {
  /** Platforms of both locks, sorted. */
  platforms: PlatformDiff[];
  /** Platforms only the second lock has. */
  addedPlatforms: PlatformPresence[];
  /** Platforms only the first lock has. */
  removedPlatforms: PlatformPresence[];
}

function state(p: LockedPackage): PackageState {
  return { version: p.version, build: p.build, channel: p.channel, subdir: p.subdir, url: p.url, sha256: p.sha256 };
}

/** Sign of conda's version order; versions rattler cannot read fall back to a natural string order. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  let va: Version | undefined;
  let vb: Version | undefined;
  try {
    va = new Version(a);
    vb = new Version(b);
    return Math.sign(va.compare(vb));
  } catch {
    return Math.sign(a.localeCompare(b, "en", { numeric: true }));
  } finally {
    va?.free();
    vb?.free();
  }
}

const keyOf = (p: LockedPackage): string => `${p.manager}\0${p.name}`;

function platformPackages(lock: Lock, platform: Platform): Map<string, LockedPackage> {
  const m = new Map<string, LockedPackage>();
  for (const p of lock.packages) if (p.platform === platform && !m.has(keyOf(p))) m.set(keyOf(p), p);
  return m;
}

function diffPlatform(platform: Platform, a: Map<string, LockedPackage>, b: Map<string, LockedPackage>): PlatformDiff {
  const entries: LockDiffEntry[] = [];
  let unchanged = 0;
  for (const [key, before] of a) {
    const after = b.get(key);
    const base = { name: before.name, manager: before.manager };
    if (!after) {
      entries.push({ ...base, kind: "removed", before: state(before) });
      continue;
    }
    const cmp = compareVersions(before.version, after.version);
    let kind: ChangedEntry["kind"] | undefined;
    if (cmp < 0) kind = "upgraded";
    else if (cmp > 0) kind = "downgraded";
    else if (before.channel !== after.channel) kind = "channel-changed";
    else if (before.build !== after.build || before.sha256 !== after.sha256 || before.version !== after.version) kind = "rebuilt";
    if (kind === undefined) unchanged++;
    else entries.push({ ...base, kind, before: state(before), after: state(after) });
  }
  for (const [key, after] of b) {
    if (!a.has(key)) entries.push({ name: after.name, manager: after.manager, kind: "added", after: state(after) });
  }
  entries.sort((x, y) => compareStrings(x.name, y.name) || compareStrings(x.manager, y.manager));
  return { platform, entries, unchanged };
}

/** The per-platform differences from lock `a` (before) to lock `b` (after). */
export function diffLocks(a: Lock, b: Lock): LockDiff {
  const pa = new Set(a.platforms);
  const pb = new Set(b.platforms);
  const count = (lock: Lock, p: Platform): number => platformPackages(lock, p).size;
  return {
    platforms: [...pa].filter((p) => pb.has(p)).sort(compareStrings).map((p) => diffPlatform(p, platformPackages(a, p), platformPackages(b, p))),
    addedPlatforms: [...pb].filter((p) => !pa.has(p)).sort(compareStrings).map((p) => ({ platform: p, packages: count(b, p) })),
    removedPlatforms: [...pa].filter((p) => !pb.has(p)).sort(compareStrings).map((p) => ({ platform: p, packages: count(a, p) })),
  };
}

/** True when the two locks install the same packages on the same platforms. */
export function isEmptyDiff(d: LockDiff): boolean {
  return d.addedPlatforms.length === 0 && d.removedPlatforms.length === 0 && d.platforms.every((p) => p.entries.length === 0);
}

// ---------------------------------------------------------------------------------------------
// Words

const SYMBOL: Record<LockDiffKind, string> = { added: "+", removed: "-", upgraded: "↑", downgraded: "↓", rebuilt: "~", "channel-changed": "⇄" };
const WORD: Record<LockDiffKind, string> = { added: "added", removed: "removed", upgraded: "upgraded", downgraded: "downgraded", rebuilt: "rebuilt", "channel-changed": "changed channel" };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function countsText(counts: Map<LockDiffKind, number>): string {
  return DIFF_KINDS.filter((k) => (counts.get(k) ?? 0) > 0)
    .map((k) => `${counts.get(k) ?? 0} ${WORD[k]}`)
    .join(", ");
}

function platformCounts(p: PlatformDiff): Map<LockDiffKind, number> {
  const m = new Map<LockDiffKind, number>();
  for (const e of p.entries) m.set(e.kind, (m.get(e.kind) ?? 0) + 1);
  return m;
}

/**
 * One line for the whole diff: "3 added, 1 upgraded". A package that changed the same way on
 * several platforms counts once; platforms gained or lost are named at the end.
 */
export function summarizeDiff(d: LockDiff): string {
  const seen = new Map<LockDiffKind, Set<string>>();
  for (const p of d.platforms) {
    for (const e of p.entries) {
      const s = seen.get(e.kind) ?? new Set<string>();
      s.add(`${e.manager}\0${e.name}`);
      seen.set(e.kind, s);
    }
  }
  const parts = [countsText(new Map([...seen].map(([k, s]) => [k, s.size])))].filter((x) => x !== "");
  if (d.addedPlatforms.length > 0) parts.push(`${plural(d.addedPlatforms.length, "platform")} added (${d.addedPlatforms.map((p) => p.platform).join(", ")})`);
  if (d.removedPlatforms.length > 0) parts.push(`${plural(d.removedPlatforms.length, "platform")} removed (${d.removedPlatforms.map((p) => p.platform).join(", ")})`);
  return parts.length === 0 ? "no changes" : parts.join(", ");
}

function displayName(e: LockDiffEntry): string {
  return e.manager === "pip" ? `${e.name} (pip)` : e.name;
}

function shortChannel(url: string): string {
  return channelShortName(url, DEFAULT_CHANNEL_ALIAS);
}

/** The before and after cells of an entry (empty when that side has no package). */
function sides(e: LockDiffEntry): [string, string] {
  switch (e.kind) {
    case "added":
      return ["", e.after.version];
    case "removed":
      return [e.before.version, ""];
    case "upgraded":
    case "downgraded":
      return [e.before.version, e.after.version];
    case "rebuilt":
      if (e.before.build === e.after.build && e.before.version === e.after.version) {
        return [`${e.before.version} ${e.before.build}`, `${e.after.version} ${e.after.build} (new sha256)`];
      }
      return [`${e.before.version} ${e.before.build}`, `${e.after.version} ${e.after.build}`];
    case "channel-changed":
      return [`${e.before.version} (${shortChannel(e.before.channel)})`, `${e.after.version} (${shortChannel(e.after.channel)})`];
  }
}

function platformHeadline(p: PlatformDiff): string {
  const counts = countsText(platformCounts(p));
  return counts === "" ? `no changes (${plural(p.unchanged, "package")})` : `${counts} (${p.unchanged} unchanged)`;
}

/**
 * Plain text, one block per platform with aligned columns:
 *
 *   linux-64: 1 added, 1 upgraded (70 unchanged)
 *     + numpy   1.26.4
 *     ↑ pandas  2.1.0 → 2.2.1
 */
export function formatDiffText(d: LockDiff): string {
  const out: string[] = [];
  for (const p of d.platforms) {
    out.push(`${p.platform}: ${platformHeadline(p)}`);
    if (p.entries.length === 0) continue;
    const nameWidth = Math.max(...p.entries.map((e) => displayName(e).length));
    const rows = p.entries.map((e) => ({ e, cells: sides(e) }));
    const beforeWidth = Math.max(0, ...rows.filter((r) => r.cells[0] !== "" && r.cells[1] !== "").map((r) => r.cells[0].length));
    for (const { e, cells } of rows) {
      const [before, after] = cells;
      const detail = before === "" ? after : after === "" ? before : `${before.padEnd(beforeWidth)} → ${after}`;
      out.push(`  ${SYMBOL[e.kind]} ${displayName(e).padEnd(nameWidth)}  ${detail}`.trimEnd());
    }
  }
  for (const p of d.addedPlatforms) out.push(`${p.platform}: new platform (${plural(p.packages, "package")})`);
  for (const p of d.removedPlatforms) out.push(`${p.platform}: platform removed (${plural(p.packages, "package")})`);
  if (out.length === 0) out.push("no platforms");
  return out.join("\n") + "\n";
}

function html(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface MarkdownDiffOptions {
  /** Heading of the report (Markdown allowed); default "Package changes". */
  title?: string;
  /** Platforms with more rows than this are collapsed into a <details> block; default 10. */
  collapseAbove?: number;
  /** Rows shown per platform at most (GitHub comments are limited to 65536 characters); default 300. */
  maxRows?: number;
}

/**
 * The report the GitHub Action posts on a pull request: a heading, a one-line summary, then one
 * section per platform with a `| | package | before | after |` table, collapsed when long.
 */
export function formatDiffMarkdown(d: LockDiff, opts: MarkdownDiffOptions = {}): string {
  const collapseAbove = opts.collapseAbove ?? 10;
  const maxRows = opts.maxRows ?? 300;
  const out = [`### ${opts.title ?? "Package changes"}`, "", `**${md(summarizeDiff(d))}**`, ""];
  for (const p of d.platforms) {
    const headline = `${md(p.platform)}: ${md(platformHeadline(p))}`;
    if (p.entries.length === 0) {
      out.push(`**${headline}**`, "");
      continue;
    }
    const table = ["| | package | before | after |", "|:-:|---|---|---|"];
    for (const e of p.entries.slice(0, maxRows)) {
      const [before, after] = sides(e);
      table.push(`| ${md(SYMBOL[e.kind])} | ${md(displayName(e))} | ${md(before)} | ${md(after)} |`);
    }
    if (p.entries.length > maxRows) table.push(`| | … and ${p.entries.length - maxRows} more | | |`);
    if (p.entries.length > collapseAbove) {
      // Markdown is not rendered inside <summary>: HTML-escaped text only.
      out.push(`<details><summary><b>${html(p.platform)}: ${html(platformHeadline(p))}</b></summary>`, "", ...table, "", "</details>", "");
    } else {
      out.push(`**${headline}**`, "", ...table, "");
    }
  }
  for (const p of d.addedPlatforms) out.push(`**${md(p.platform)}: new platform** (${plural(p.packages, "package")})`, "");
  for (const p of d.removedPlatforms) out.push(`**${md(p.platform)}: platform removed** (${plural(p.packages, "package")})`, "");
  return out.join("\n").replace(/\n+$/, "") + "\n";
}
