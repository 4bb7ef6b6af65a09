/**
 * `conda-meta/`: what makes a folder a conda environment for conda, mamba, micromamba and pixi.
 * One `<name>-<version>-<build>.json` per package (conda's PrefixRecord: the repodata record plus
 * what was linked and from where), `history` (conda's `history.py` format; its existence alone is
 * what `conda` checks), and `state` for the spec's variables (`conda env config vars`).
 */
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { DEFAULT_CHANNEL_ALIAS, channelShortName } from "../../spec/channel.ts";
import { join } from "node:path";
import type { LinkedPath } from "./link-package.ts";
import { readIndexJson } from "./package-paths.ts";
import type { IndexJson } from "./package-paths.ts";
import type { ExtractedPackage, LinkedPackage } from "./types.ts";

/** Creates `conda-meta/` and an empty `history` when there is none: conda treats a folder as an environment by that file. */
export async function ensureCondaMeta(staging: string): Promise<string> {
  const dir = join(staging, "conda-meta");
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, "history"), "");
  return dir;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}

/** The conda-meta record of a linked package, keys sorted as conda writes them. */
export function condaMetaRecord(pkg: ExtractedPackage, linked: LinkedPackage, opts: { requestedSpec?: string; index?: IndexJson }): Record<string, unknown> {
  const r = pkg.record;
  const index = opts.index;
  const noarch = r.noarch ?? index?.noarch;
  const paths: readonly LinkedPath[] = linked.paths;
  return sortKeys({
    build: r.build,
    build_number: r.buildNumber,
    // conda's channel field names the subdir: https://conda.anaconda.org/conda-forge/linux-64
    channel: `${r.channel}/${r.subdir}`,
    constrains: r.constrains,
    depends: r.depends,
    extracted_package_dir: pkg.dir,
    features: index?.features ?? "",
    files: linked.files,
    fn: r.filename,
    license: r.license ?? index?.license,
    license_family: index?.license_family,
    // conda's LinkType: 1 hardlink, 2 softlink, 3 copy
    link: { source: pkg.dir, type: linked.linkType === "hardlink" ? 1 : 3 },
    md5: r.md5,
    name: r.name,
    noarch,
    package_tarball_full_path: pkg.archive,
    package_type: noarch === "python" ? "noarch_python" : noarch === "generic" ? "noarch_generic" : undefined,
    paths_data: { paths: paths.map((p) => ({ ...p })), paths_version: 1 },
    requested_spec: opts.requestedSpec,
    requested_specs: opts.requestedSpec === undefined ? [] : [opts.requestedSpec],
    sha256: r.sha256,
    size: r.size,
    subdir: r.subdir,
    timestamp: r.timestamp,
    track_features: index?.track_features ?? "",
    url: r.url,
    version: r.version,
  }) as Record<string, unknown>;
}

/** Writes `conda-meta/<name>-<version>-<build>.json` for a package just linked into `staging`. */
export async function writeCondaMetaRecord(staging: string, pkg: ExtractedPackage, linked: LinkedPackage, opts: { requestedSpec?: string; prefix: string }): Promise<string> {
  const dir = await ensureCondaMeta(staging);
  // index.json has what a lock does not keep (license_family, features); a package without one is still recorded.
  const index = await readIndexJson(pkg.dir).catch(() => undefined);
  const r = pkg.record;
  const file = join(dir, `${r.name}-${r.version}-${r.build}.json`);
  const record = condaMetaRecord(pkg, linked, { ...(opts.requestedSpec !== undefined ? { requestedSpec: opts.requestedSpec } : {}), ...(index ? { index } : {}) });
  await writeFile(file, JSON.stringify(record, null, 2) + "\n");
  return file;
}

/** Python's repr of a str, as conda writes spec lists with `str(list)`. */
function pyRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c] ?? c).replace(new RegExp(q, "g"), `\\${q}`);
  return `${q}${body}${q}`;
}

const pad = (n: number): string => String(n).padStart(2, "0");
/** `time.strftime("%Y-%m-%d %H:%M:%S")`: local time, as conda writes it. */
const historyDate = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

/** conda's short channel name: `conda-forge` for https://conda.anaconda.org/conda-forge, else the URL. */
export function canonicalChannel(url: string, channelAlias = DEFAULT_CHANNEL_ALIAS): string {
  // conda names Anaconda's own channels (`pkgs/main`) by path, like those under the alias.
  return channelShortName(channelShortName(url, channelAlias), "https://repo.anaconda.com");
}

/** Appends one revision to `conda-meta/history`: the header, `+channel/subdir::name-version-build` per package, the requested specs. */
export async function writeHistory(staging: string, records: readonly ExtractedPackage[], opts: { specs: readonly string[]; cmd?: string; date?: Date; channelAlias?: string }): Promise<void> {
  const dir = await ensureCondaMeta(staging);
  const dists = records.map(({ record: r }) => `+${canonicalChannel(r.channel, opts.channelAlias)}/${r.subdir}::${r.name}-${r.version}-${r.build}`).sort();
  const lines = [`==> ${historyDate(opts.date ?? new Date())} <==`, `# cmd: ${opts.cmd ?? "condaops install"}`, ...dists];
  if (opts.specs.length) lines.push(`# update specs: [${opts.specs.map(pyRepr).join(", ")}]`);
  await appendFile(join(dir, "history"), lines.join("\n") + "\n");
}

/**
 * Writes the spec's variables to `conda-meta/state` as `conda env config vars set` does
 * (`json.dumps({"env_vars": ...})`); `conda activate` exports them. Nothing is written without variables.
 */
export async function writeState(staging: string, variables: Readonly<Record<string, string>>): Promise<void> {
  const entries = Object.entries(variables);
  if (!entries.length) return;
  const dir = await ensureCondaMeta(staging);
  const body = entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ");
  await writeFile(join(dir, "state"), `{"env_vars": {${body}}}`);
}
