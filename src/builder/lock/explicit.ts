/**
 * The `explicit` artifact: conda's `@EXPLICIT` list for one platform, what
 * `conda list --explicit --sha256` and `conda-lock render --kind explicit` write and
 * `conda create --file`, mamba and micromamba install without solving:
 *
 *   # This file may be used to create an environment using:
 *   # $ conda create --name <env> --file <this file>
 *   # platform: linux-64
 *   # input_hash: <the lock's content hash for the platform>
 *   @EXPLICIT
 *   https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda#<sha256>
 *
 * One `url#sha256` line per conda package (conda accepts a bare 64-hex sha256 fragment, as it
 * accepts `sha256:<hex>` and a 32-hex md5), in install order: dependencies before dependents
 * (topological over `depends` names, ties and cycles broken by name), so a plain sequential
 * installer links python before the noarch packages that compile against it. pip packages have
 * no place in the format; like conda-lock, they are listed as `# pip name @ url#sha256=<hex>`
 * comments, which conda ignores.
 */
import { InputError } from "../../errors.ts";
import { hasCredentials, redactText } from "../channels/redact.ts";
import type { Platform } from "../../spec/types.ts";
import { archiveStem, compareStrings, dependencyNames, packagesForPlatform } from "./package-record.ts";
import type { Lock, LockedPackage } from "./types.ts";

export const EXPLICIT_MARKER = "@EXPLICIT";
/** The largest explicit file read (as for conda-lock files). */
export const EXPLICIT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Install order: every package after the packages it depends on, among those of the list;
 * among the packages ready at one point the smallest name first. A dependency cycle is broken at
 * its smallest name, so the order is total and deterministic.
 */
export function installOrder(packages: readonly LockedPackage[]): LockedPackage[] {
  const names = new Set(packages.map((p) => p.name));
  // Per package, the locked packages it still waits for; per package, who waits for it.
  const waitsFor = new Map<string, Set<string>>([...names].map((n) => [n, new Set<string>()]));
  const dependents = new Map<string, string[]>();
  for (const p of packages) {
    for (const d of dependencyNames(p)) {
      if (d === p.name || !names.has(d)) continue; // self, virtual (__glibc) or not locked
      waitsFor.get(p.name)?.add(d);
      dependents.set(d, [...(dependents.get(d) ?? []), p.name]);
    }
  }
  const position = new Map<string, number>();
  const ready = new Set([...waitsFor].filter(([, w]) => w.size === 0).map(([n]) => n));
  while (position.size < names.size) {
    const next = ready.size > 0 ? [...ready].sort(compareStrings)[0] : cycleBreaker(names, position, waitsFor);
    if (next === undefined) break;
    ready.delete(next);
    position.set(next, position.size);
    for (const dependent of dependents.get(next) ?? []) {
      const w = waitsFor.get(dependent);
      if (!w || position.has(dependent)) continue;
      w.delete(next);
      if (w.size === 0) ready.add(dependent);
    }
  }
  return [...packages].sort((a, b) => (position.get(a.name) ?? 0) - (position.get(b.name) ?? 0) || compareStrings(a.url, b.url));
}

/**
 * With nothing ready, every unplaced package waits on another: follow the (smallest) waits from
 * the smallest unplaced name until a name repeats; that loop is a cycle, broken at its smallest name.
 */
function cycleBreaker(names: Set<string>, placed: Map<string, number>, waitsFor: Map<string, Set<string>>): string | undefined {
  let current = [...names].filter((n) => !placed.has(n)).sort(compareStrings)[0];
  const path: string[] = [];
  while (current !== undefined && !path.includes(current)) {
    path.push(current);
    current = [...(waitsFor.get(current) ?? [])].sort(compareStrings)[0];
  }
  return current === undefined ? path[0] : path.slice(path.indexOf(current)).sort(compareStrings)[0];
}

/** The @EXPLICIT file of one platform of the lock. */
export function explicitFile(lock: Lock, platform: Platform): string {
  const packages = packagesForPlatform(lock, platform);
  const conda = installOrder(packages.filter((p) => p.manager === "conda"));
  const pip = packages.filter((p) => p.manager === "pip");
  const bad = packages.find((p) => hasCredentials(p.url));
  if (bad) throw new InputError("lock.credentials", `refusing to write a URL with credentials (${redactText(bad.url)})`, { hint: "channel credentials belong in condaops' configuration" });
  const lines = ["# This file may be used to create an environment using:", "# $ conda create --name <env> --file <this file>", `# platform: ${platform}`];
  const inputHash = lock.contentHash[platform];
  if (inputHash !== undefined) lines.push(`# input_hash: ${inputHash}`);
  lines.push(EXPLICIT_MARKER);
  for (const p of conda) lines.push(`${p.url}#${p.sha256}`);
  for (const p of pip) lines.push(`# pip ${p.name} @ ${p.url}#sha256=${p.sha256}`);
  return lines.join("\n") + "\n";
}

export interface ExplicitEntry {
  url: string;
  sha256?: string;
  md5?: string;
}

export interface ExplicitList {
  /** From the `# platform: ...` header, when there is one. */
  platform?: string;
  /** The package URLs in file order (the order to install them in). */
  urls: ExplicitEntry[];
}

/**
 * Reads an @EXPLICIT file. Comment and blank lines are skipped (`# platform:` is kept); every
 * other line after `@EXPLICIT` must be a package URL with an optional `#md5`, `#sha256` or
 * `#sha256:<hex>` fragment. Anything else is an InputError at its line and column.
 */
export function parseExplicit(file: string, text: string): ExplicitList {
  const size = Buffer.byteLength(text);
  if (size > EXPLICIT_MAX_BYTES) {
    throw new InputError("explicit.too-large", `file is ${size} bytes, more than the limit of ${EXPLICIT_MAX_BYTES} (64 MiB)`, { position: { file } });
  }
  const fail: (line: number, column: number, message: string, hint: string) => never = (line, column, message, hint) => {
    throw new InputError("explicit.syntax", redactText(message), { position: { file, line, column }, hint });
  };
  const result: ExplicitList = { urls: [] };
  let explicit = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const platform = /^#\s*platform:\s*(\S+)\s*$/.exec(line)?.[1];
      if (platform !== undefined && result.platform === undefined) result.platform = platform;
      return;
    }
    if (line === EXPLICIT_MARKER) {
      explicit = true;
      return;
    }
    if (!explicit) {
      fail(lineNo, indent + 1, `"${line.slice(0, 80)}" comes before the ${EXPLICIT_MARKER} line`, `an explicit file lists package URLs after a line "${EXPLICIT_MARKER}"; this looks like a different kind of file`);
    }
    if (hasCredentials(line)) {
      fail(lineNo, indent + 1, "the URL holds credentials (user:password@ or a /t/<token>/ segment)", "remove them; condaops adds channel credentials from its configuration");
    }
    const m = /^((?:https?|file|s3):\/\/[^\s#?]+)(?:#(\S*))?$/.exec(line);
    if (!m || m[1] === undefined) {
      fail(lineNo, indent + 1, `"${line.slice(0, 80)}" is not a package URL`, "each line after @EXPLICIT is <channel>/<subdir>/<file>.conda or .tar.bz2, optionally followed by #<md5> or #<sha256>");
    }
    const url = m[1];
    const filename = url.slice(url.lastIndexOf("/") + 1);
    if (archiveStem(filename) === undefined) {
      fail(lineNo, indent + 1, `"${filename}" is not a conda package (.conda or .tar.bz2)`, "list conda package archives only");
    }
    const entry: ExplicitEntry = { url };
    const fragment = m[2];
    if (fragment !== undefined) {
      const column = indent + url.length + 1;
      if (/^[0-9a-f]{32}$/.test(fragment)) entry.md5 = fragment;
      else if (/^(?:sha256:)?[0-9a-f]{64}$/.test(fragment)) entry.sha256 = fragment.replace(/^sha256:/, "");
      else fail(lineNo, column, `"#${fragment.slice(0, 80)}" is not a checksum`, "write #<md5> (32 hex digits) or #<sha256> (64 hex digits), lowercase");
    }
    result.urls.push(entry);
  });
  if (!explicit) {
    throw new InputError("explicit.syntax", `no ${EXPLICIT_MARKER} line: this is not an explicit package list`, {
      position: { file, line: 1, column: 1 },
      hint: "write it with condaops, conda list --explicit or conda-lock render --kind explicit",
    });
  }
  return result;
}
