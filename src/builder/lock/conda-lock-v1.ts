/**
 * The `lock` artifact: conda-lock's v1 unified format (`conda-lock.yml`), which conda-lock,
 * micromamba (`micromamba create -f conda-lock.yml`) and condaops itself read. A committed lock
 * is untrusted input (it decides what gets downloaded and installed), so reading is strict:
 * size and YAML limits, no credentials anywhere, a JSON Schema (schemas/conda-lock-v1.schema.json)
 * and then the checks a schema cannot express (one entry per package and platform, URLs that
 * name a conda archive of the right subdir, a content hash per platform).
 *
 * What survives a round trip is what the format has a place for: name, version, manager,
 * platform, `dependencies` (= depends), url (-> channel, subdir, filename, build), md5, sha256,
 * category, optional, and condaops' own metadata in `custom_metadata`. conda-lock's pydantic
 * models refuse unknown keys, so constrains, size, license, timestamp and noarch are not written
 * (an installer reads them from the archive's info/index.json); the build number is recovered
 * from the build string (buildNumberFromBuild). The optional `build` key is read but not written:
 * conda-lock releases before it was added refuse it, and the URL already says it.
 *
 * Writing is deterministic: fixed key order, packages sorted as conda-lock sorts them (manager,
 * name, platform: a package's platforms stay together in a review diff, and a lock conda-lock
 * wrote is rewritten in the same order), and YAML scalars quoted so YAML 1.1 and 1.2 readers agree.
 */
import { InputError } from "../../errors.ts";
import { hasCredentials, redactText } from "../channels/redact.ts";
import { DEFAULT_CHANNEL_ALIAS, channelUrl } from "../../spec/channel.ts";
import { describePath, checkSchema } from "../../spec/schema-check.ts";
import { DEFAULT_YAML_LIMITS, parseYaml } from "../../spec/yaml-source.ts";
import type { YamlPath, YamlSource } from "../../spec/yaml-source.ts";
import type { Platform } from "../../spec/types.ts";
import condaLockSchema from "../../../schemas/conda-lock-v1.schema.json" with { type: "json" };
import {
  buildFromFilename,
  buildNumberFromBuild,
  compareStrings,
  comparePackages,
  dependencyEntries,
  joinDepend,
  splitPackageUrl,
} from "./package-record.ts";
import type { Lock, LockedPackage } from "./types.ts";
import { yamlScalar } from "./yaml-emit.ts";

/** The largest lock file read: far above real locks (a few MB), far below a memory problem. */
export const CONDA_LOCK_MAX_BYTES = 64 * 1024 * 1024;

/** What conda's `defaults` stands for outside Windows (conda's default_channels). */
const DEFAULTS_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"];

const REGENERATE = "regenerate the lock (condaops, or conda-lock lock) instead of editing it by hand";

// ---------------------------------------------------------------------------------------------
// Reading

/** The file's shape once the schema has accepted it. */
interface RawPackage {
  name: string;
  version: string;
  manager: "conda" | "pip";
  platform: Platform;
  dependencies?: Record<string, string>;
  url: string;
  hash: { md5?: string; sha256: string };
  source?: { type: "url"; url: string };
  build?: string;
  category?: string;
  optional: boolean;
}

interface RawLock {
  version: 1;
  metadata: {
    content_hash: Record<string, string>;
    channels: { url: string; used_env_vars: string[] }[];
    platforms: Platform[];
    sources: string[];
    custom_metadata?: Record<string, string>;
  };
  package: RawPackage[];
}

function fail(source: YamlSource, path: YamlPath, code: string, message: string, hint: string = REGENERATE, which: "key" | "value" = "value"): never {
  const pos = source.locate(path, which);
  throw new InputError(code, redactText(message), { position: { file: source.file, line: pos.line, column: pos.column }, hint });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** conda-lock's own rule (version 1 only), with words for the files people confuse it with. */
function checkVersion(source: YamlSource): void {
  const v = source.value;
  if (!isRecord(v)) {
    fail(source, [], "lock.not-a-lock", "a conda-lock file is a mapping with the keys version, metadata and package");
  }
  if (v.version === 1) return;
  if ("environments" in v) {
    fail(source, ["version"], "lock.pixi", `this is a pixi lock file (format version ${JSON.stringify(v.version ?? null)}), not a conda-lock file`, "condaops reads conda-lock's conda-lock.yml (version: 1); let condaops solve the spec, or export the environment with conda-lock", "key");
  }
  if (!("version" in v)) fail(source, [], "lock.version", 'the lock file has no "version" (conda-lock files start with version: 1)');
  if (v.version === 2) {
    fail(source, ["version"], "lock.version", "conda-lock lock file version 2 is not supported", "condaops reads version 1, the format conda-lock writes to conda-lock.yml; regenerate the lock with conda-lock or condaops");
  }
  fail(source, ["version"], "lock.version", `unknown lock file version ${JSON.stringify(v.version)}; condaops reads conda-lock version 1`);
}

/** Every string and key of the document: none may hold a credential (refused without repeating it). */
function refuseCredentials(source: YamlSource): void {
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v === "string") {
      if (hasCredentials(v)) {
        fail(source, path, "lock.credentials", `${describePath(path)} holds a URL with credentials (user:password@ or a /t/<token>/ segment)`, "remove them: a lock is committed and published; condaops adds channel credentials from its configuration when it downloads");
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]));
    } else if (isRecord(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (hasCredentials(k)) fail(source, [...path, k], "lock.credentials", `a key in ${describePath(path)} holds a URL with credentials`, "remove them", "key");
        walk(x, [...path, k]);
      }
    }
  };
  walk(source.value, []);
}

/** A channel as conda-lock records it (a name, `defaults`, or a URL) as the URLs it stands for. */
function channelUrls(url: string): string[] {
  if (url === "defaults") return DEFAULTS_CHANNELS;
  return [channelUrl(url, DEFAULT_CHANNEL_ALIAS)];
}

function toPackage(source: YamlSource, raw: RawPackage, i: number): LockedPackage {
  const at = (...rest: (string | number)[]): YamlPath => ["package", i, ...rest];
  const what = `${raw.name} (${raw.platform})`;
  if (raw.source !== undefined) {
    fail(source, at("source"), "lock.source", `package ${what} is installed from a source URL (source:), which condaops cannot lock reproducibly`, "lock the package from a channel or a wheel with a sha256 instead");
  }
  const depends = Object.entries(raw.dependencies ?? {}).map(([n, c]) => joinDepend(n, c));
  const common = {
    name: raw.name,
    version: raw.version,
    platform: raw.platform,
    url: raw.url,
    sha256: raw.hash.sha256,
    md5: raw.hash.md5 ?? "",
    depends,
    constrains: [],
    manager: raw.manager,
    category: raw.category ?? "main",
    optional: raw.optional,
  };
  const parts = splitPackageUrl(raw.url);
  if (raw.manager === "pip") {
    // A wheel or sdist: the "channel" is the index host; pip has no subdir or build string.
    const host = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)/i.exec(raw.url)?.[1] ?? raw.url;
    const filename = raw.url.slice(raw.url.lastIndexOf("/") + 1);
    return { ...common, build: raw.build ?? "", buildNumber: 0, subdir: "", channel: host, filename };
  }
  if (!parts) {
    fail(source, at("url"), "lock.url", `the URL of ${what} is not a conda package URL (<channel>/<subdir>/<name>-<version>-<build>.conda or .tar.bz2)`);
  }
  if (parts.subdir !== raw.platform && parts.subdir !== "noarch") {
    fail(source, at("url"), "lock.subdir", `package ${what} comes from subdir "${parts.subdir}", which is neither ${raw.platform} nor noarch`);
  }
  // conda versions and build strings never contain "-": that is what makes
  // <name>-<version>-<build> unambiguous. Without this, `name: ca, version: certificates` would
  // pass for ca-certificates-2024.2.2-h0_0 and slip past a block on ca-certificates.
  if (/[-\s]/.test(raw.version)) fail(source, at("version"), "lock.version", `package ${what} has the version "${raw.version}": conda versions contain no "-" or spaces`);
  const build = buildFromFilename(parts.filename, raw.name, raw.version);
  if (build !== undefined && /[-\s]/.test(build)) {
    fail(source, at("url"), "lock.url", `the file name "${parts.filename}" of ${what} is not ${raw.name}-${raw.version}-<build>: the rest, "${build}", is not a build string`);
  }
  if (build === undefined) {
    fail(source, at("url"), "lock.url", `the file name "${parts.filename}" of ${what} is not ${raw.name}-${raw.version}-<build>.conda or .tar.bz2`);
  }
  if (raw.build !== undefined && raw.build !== build) {
    fail(source, at("build"), "lock.build", `package ${what} says build "${raw.build}" but its URL has build "${build}"`);
  }
  return { ...common, build, buildNumber: buildNumberFromBuild(build), subdir: parts.subdir, channel: parts.channel, filename: parts.filename };
}

function toLock(source: YamlSource, raw: RawLock): Lock {
  const meta = raw.metadata;
  const platforms = [...meta.platforms].sort(compareStrings);
  const contentHash: Record<Platform, string> = {};
  for (const [p, h] of Object.entries(meta.content_hash)) {
    if (!platforms.includes(p)) {
      fail(source, ["metadata", "content_hash", p], "lock.content-hash", `metadata.content_hash has an entry for ${p}, which is not in metadata.platforms`, REGENERATE, "key");
    }
    contentHash[p] = h;
  }
  for (const p of platforms) {
    if (!(p in contentHash)) fail(source, ["metadata", "content_hash"], "lock.content-hash", `metadata.content_hash has no entry for platform ${p}`);
  }
  const channels = [...new Set(meta.channels.flatMap((c) => channelUrls(c.url)))];

  const seen = new Map<string, number>();
  const packages = raw.package.map((p, i) => {
    if (!platforms.includes(p.platform)) {
      fail(source, ["package", i, "platform"], "lock.platform", `package ${p.name} is for ${p.platform}, which is not in metadata.platforms (${platforms.join(", ")})`);
    }
    const key = `${p.manager}\0${p.name}\0${p.platform}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const line = source.locate(["package", first]).line;
      fail(source, ["package", i], "lock.duplicate", `package ${p.name} (${p.manager}) is listed twice for ${p.platform} (first at line ${line})`, "keep one entry per package and platform; " + REGENERATE);
    }
    seen.set(key, i);
    return toPackage(source, p, i);
  });
  packages.sort(comparePackages);
  return { platforms, channels, contentHash, sources: [...meta.sources], packages, metadata: { ...(meta.custom_metadata ?? {}) } };
}

/**
 * Reads a conda-lock v1 file. Throws InputError (file:line:column, what to do) for anything that
 * is not a well-formed lock: not YAML, too large, another format or version, schema violations,
 * credentials in a URL (never repeated in the message), duplicate or inconsistent packages.
 */
export function parseCondaLock(file: string, text: string): Lock {
  const size = Buffer.byteLength(text);
  if (size > CONDA_LOCK_MAX_BYTES) {
    throw new InputError("lock.too-large", `lock file is ${size} bytes, more than the limit of ${CONDA_LOCK_MAX_BYTES} (64 MiB)`, {
      position: { file },
      hint: "this is not a lock of one environment; check the file",
    });
  }
  const source = parseYaml(file, text, { ...DEFAULT_YAML_LIMITS, maxBytes: CONDA_LOCK_MAX_BYTES });
  checkVersion(source);
  refuseCredentials(source);
  const findings = checkSchema(source, condaLockSchema, "lock");
  const first = findings[0];
  if (first) {
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more ${findings.length === 2 ? "problem" : "problems"})` : "";
    throw new InputError(first.rule, redactText(first.message) + more, {
      position: { file, line: first.line, column: first.column },
      hint: `this is not a valid conda-lock v1 file; ${REGENERATE}`,
    });
  }
  // The schema check above makes this cast true.
  return toLock(source, source.value as RawLock);
}

// ---------------------------------------------------------------------------------------------
// Writing

const HEADER = [
  "# This lock file was generated by condaops. DO NOT EDIT!",
  "#",
  "# A conda-lock v1 lock file (https://github.com/conda/conda-lock): the exact packages, with",
  "# checksums, of one environment for each of its platforms. Install it with:",
  "#     conda-lock install -n YOURENV <this file>",
  "#     micromamba create -n YOURENV -f <this file>",
];

/** conda-lock's package order: manager, name, platform. */
function condaLockOrder(a: LockedPackage, b: LockedPackage): number {
  return compareStrings(a.manager, b.manager) || compareStrings(a.name, b.name) || compareStrings(a.platform, b.platform);
}

function refuseSecrets(lock: Lock): void {
  const urls = [...lock.channels, ...lock.packages.map((p) => p.url)];
  const bad = urls.find(hasCredentials);
  if (bad !== undefined) {
    throw new InputError("lock.credentials", `refusing to write a lock with credentials in a URL (${redactText(bad)})`, {
      hint: "channel credentials belong in condaops' configuration, not in a lock",
    });
  }
}

/** The conda-lock v1 text of a lock: the same Lock always gives the same bytes. */
export function serializeCondaLock(lock: Lock): string {
  refuseSecrets(lock);
  const s = yamlScalar;
  const out = [...HEADER, "version: 1", "metadata:"];

  const hashes = Object.keys(lock.contentHash).sort(compareStrings);
  out.push(hashes.length === 0 ? "  content_hash: {}" : "  content_hash:");
  for (const p of hashes) out.push(`    ${s(p)}: ${s(lock.contentHash[p] ?? "")}`);

  out.push(lock.channels.length === 0 ? "  channels: []" : "  channels:");
  for (const c of lock.channels) out.push(`  - url: ${s(c)}`, "    used_env_vars: []");

  const platforms = [...lock.platforms].sort(compareStrings);
  out.push(platforms.length === 0 ? "  platforms: []" : "  platforms:");
  for (const p of platforms) out.push(`  - ${s(p)}`);

  out.push(lock.sources.length === 0 ? "  sources: []" : "  sources:");
  for (const src of lock.sources) out.push(`  - ${s(src)}`);

  const custom = Object.keys(lock.metadata).sort(compareStrings);
  if (custom.length > 0) {
    out.push("  custom_metadata:");
    for (const k of custom) out.push(`    ${s(k)}: ${s(lock.metadata[k] ?? "")}`);
  }

  const packages = [...lock.packages].sort(condaLockOrder);
  out.push(packages.length === 0 ? "package: []" : "package:");
  for (const p of packages) {
    out.push(`- name: ${s(p.name)}`, `  version: ${s(p.version)}`, `  manager: ${s(p.manager)}`, `  platform: ${s(p.platform)}`);
    const deps = dependencyEntries(p.depends);
    out.push(deps.length === 0 ? "  dependencies: {}" : "  dependencies:");
    for (const [n, c] of deps) out.push(`    ${s(n)}: ${s(c)}`);
    out.push(`  url: ${s(p.url)}`, "  hash:");
    if (p.md5 !== "") out.push(`    md5: ${s(p.md5)}`);
    out.push(`    sha256: ${s(p.sha256)}`, `  category: ${s(p.category)}`, `  optional: ${p.optional ? "true" : "false"}`);
  }
  return out.join("\n") + "\n";
}
