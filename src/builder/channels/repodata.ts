/**
 * repodata.json: a channel subdir's index. Untrusted input: it is parsed here, once, into typed
 * records, and anything malformed is refused naming the channel and subdir (an infrastructure
 * error, exit 3: the user's spec is fine, the channel is not).
 */
import { InfraError } from "../../errors.ts";

/** One package of a channel subdir, as repodata.json describes it. */
export interface RepodataRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  depends: string[];
  constrains?: string[];
  subdir: string;
  /** File name: the key under `packages` / `packages.conda`. */
  fn: string;
  md5?: string;
  sha256?: string;
  size?: number;
  /** Milliseconds since the epoch (normalised: some old records carry seconds). */
  timestamp?: number;
  license?: string;
  noarch?: string;
  track_features?: string;
  features?: string;
}

export interface Repodata {
  subdir: string;
  records: RepodataRecord[];
}

export interface SubdirLabel {
  /** Redacted channel URL. */
  channel: string;
  subdir: string;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** Seconds before 1973 in ms are 1e11; timestamps below that are seconds (conda normalises the same way). */
export function normaliseTimestamp(t: number): number {
  return t < 1e11 ? Math.round(t * 1000) : t;
}

export function parseRepodata(bytes: Buffer | string, label: SubdirLabel): Repodata {
  const where = `${label.channel}/${label.subdir}`;
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
  } catch (e) {
    throw new InfraError("repodata.invalid", `repodata of ${where} is not valid JSON (truncated download?)`, {
      hint: "retry; if it persists the channel is broken or a proxy is altering responses",
      cause: e,
    });
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new InfraError("repodata.invalid", `repodata of ${where} is not a JSON object`, { hint: "check that the URL is a conda channel" });
  }
  const d = doc as Record<string, unknown>;
  const records: RepodataRecord[] = [];
  for (const key of ["packages", "packages.conda"] as const) {
    const group = d[key];
    if (group === undefined) continue;
    if (group === null || typeof group !== "object" || Array.isArray(group)) {
      throw new InfraError("repodata.invalid", `repodata of ${where}: "${key}" is not an object`);
    }
    for (const [fn, raw] of Object.entries(group as Record<string, unknown>)) {
      const r = raw as Record<string, unknown> | null;
      const bad = (what: string) => new InfraError("repodata.invalid", `repodata of ${where}: record "${fn}" ${what}`, { hint: "the channel's index is corrupt; report it to the channel's maintainers" });
      if (r === null || typeof r !== "object") throw bad("is not an object");
      if (typeof r.name !== "string" || typeof r.version !== "string" || typeof r.build !== "string") throw bad("lacks name, version or build");
      if (fn.includes("/") || fn.includes("\\") || fn.startsWith(".")) throw bad("has an unsafe file name");
      const depends = r.depends ?? [];
      if (!isStringArray(depends)) throw bad("has a depends that is not a list of strings");
      if (r.constrains !== undefined && !isStringArray(r.constrains)) throw bad("has a constrains that is not a list of strings");
      if (r.sha256 !== undefined && (typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/i.test(r.sha256))) throw bad("has an invalid sha256");
      if (r.md5 !== undefined && (typeof r.md5 !== "string" || !/^[0-9a-f]{32}$/i.test(r.md5))) throw bad("has an invalid md5");
      const rec: RepodataRecord = {
        name: r.name,
        version: r.version,
        build: r.build,
        build_number: typeof r.build_number === "number" ? r.build_number : 0,
        depends,
        subdir: typeof r.subdir === "string" ? r.subdir : label.subdir,
        fn,
      };
      if (r.constrains !== undefined) rec.constrains = r.constrains as string[];
      if (typeof r.md5 === "string") rec.md5 = r.md5.toLowerCase();
      if (typeof r.sha256 === "string") rec.sha256 = r.sha256.toLowerCase();
      if (typeof r.size === "number") rec.size = r.size;
      if (typeof r.timestamp === "number") rec.timestamp = normaliseTimestamp(r.timestamp);
      if (typeof r.license === "string") rec.license = r.license;
      if (typeof r.noarch === "string") rec.noarch = r.noarch;
      if (typeof r.track_features === "string") rec.track_features = r.track_features;
      if (typeof r.features === "string") rec.features = r.features;
      records.push(rec);
    }
  }
  const info = d.info as Record<string, unknown> | undefined;
  return { subdir: typeof info?.subdir === "string" ? info.subdir : label.subdir, records };
}

/** Back to repodata.json, as served to the solver (`base_url` points the solver's URLs at the real channel). */
export function serialiseRepodata(subdir: string, records: readonly RepodataRecord[], baseUrl?: string): string {
  const packages: Record<string, Omit<RepodataRecord, "fn">> = {};
  const conda: Record<string, Omit<RepodataRecord, "fn">> = {};
  for (const { fn, ...rest } of records) (fn.endsWith(".conda") ? conda : packages)[fn] = rest;
  return JSON.stringify({
    info: { subdir, ...(baseUrl ? { base_url: baseUrl } : {}) },
    repodata_version: baseUrl ? 2 : 1,
    packages,
    "packages.conda": conda,
  });
}
