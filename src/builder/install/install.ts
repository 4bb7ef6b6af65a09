/**
 * Installing one platform of a lock into a new prefix, all or nothing: every package is fetched
 * and extracted into the shared package cache (in parallel, bounded), then linked in dependency
 * order into `<prefix>.partial-<random>`, conda-meta written, and the folder renamed to the prefix
 * only when everything succeeded. A failed or killed install leaves no prefix; its partial folder
 * is removed by the next install that finds it. An existing prefix is never touched.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import pLimit from "p-limit";
import { InfraError, InputError } from "../../errors.ts";
import { installOrder } from "../lock/explicit.ts";
import type { Lock, LockedPackage } from "../lock/types.ts";
import { SILENT_PROGRESS } from "../progress.ts";
import type { Progress } from "../progress.ts";
import { writeCondaMetaRecord, writeHistory, writeState } from "./conda-meta.ts";
import { linkPackage } from "./link-package.ts";
import { runLinkScript } from "./link-scripts.ts";
import type { ExtractedPackage, LinkContext, PackageCache } from "./types.ts";

/** conda-build's binary placeholder is 255 characters: a longer prefix cannot be patched into binaries. */
export const MAX_PREFIX_LENGTH = 255;
const PARTIAL_MARKER = ".condaops-partial";

export interface InstallOptions {
  /** The final prefix (absolute). Must not exist. */
  prefix: string;
  platform: string;
  cache: PackageCache;
  /** Parallel downloads and extractions. */
  concurrency: number;
  /** Run packages' pre-link/post-link scripts (they execute package code). */
  linkScripts: boolean;
  scriptTimeoutMs?: number;
  /** The spec's variables, written to conda-meta/state. */
  variables?: Record<string, string>;
  /** The spec's dependencies, recorded as requested specs (conda-meta and history). */
  requested?: string[];
  progress?: Progress;
  log?(line: string): void;
}

export interface InstallResult {
  prefix: string;
  packages: number;
  files: number;
  linkType: "hardlink" | "copy" | "mixed";
  ms: { fetch: number; link: number; total: number };
}

/** Removes `<prefix>.partial-*` folders left by installs whose process is gone. */
export async function removeStalePartials(prefix: string, log?: (line: string) => void): Promise<void> {
  const dir = dirname(prefix);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const stem = `${basename(prefix)}.partial-`;
  for (const name of names.filter((n) => n.startsWith(stem))) {
    const path = join(dir, name);
    let owner: { pid?: number; host?: string } = {};
    try {
      owner = JSON.parse(await readFile(join(path, PARTIAL_MARKER), "utf8")) as typeof owner;
    } catch {
      // no marker: an install that died before writing it, or after renaming it away
    }
    if (owner.host === hostname() && owner.pid !== undefined && owner.pid !== process.pid && isAlive(owner.pid)) continue;
    if (owner.host !== undefined && owner.host !== hostname()) continue; // another machine's; not ours to judge
    log?.(`removing ${path}, left by an install that did not finish`);
    await rm(path, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function checkPrefix(prefix: string): void {
  if (!isAbsolute(prefix)) throw new InputError("install.prefix-relative", `the prefix ${prefix} is not an absolute path`);
  if (prefix.length > MAX_PREFIX_LENGTH) {
    throw new InputError("install.prefix-too-long", `the prefix is ${prefix.length} characters long; packages can be relocated into at most ${MAX_PREFIX_LENGTH}`, {
      hint: "choose a shorter path (conda-build's binary placeholder is 255 characters)",
    });
  }
  if (/[\s"'\\]/.test(prefix)) {
    throw new InputError("install.prefix-chars", `the prefix ${prefix} contains spaces, quotes or backslashes, which break shebang lines and scripts`, { hint: "choose a plain path" });
  }
  if (existsSync(prefix)) {
    throw new InputError("install.prefix-exists", `${prefix} already exists; installs never overwrite a prefix`, { hint: "install into a new path, or remove the old prefix first" });
  }
}

/** `3.11` from the lock's python package, for noarch: python. */
function pythonVersionOf(packages: readonly LockedPackage[]): string | undefined {
  const python = packages.find((p) => p.name === "python");
  const m = python ? /^(\d+)\.(\d+)/.exec(python.version) : null;
  return m ? `${m[1]}.${m[2]}` : undefined;
}

async function sameFilesystem(a: string, b: string): Promise<boolean> {
  try {
    return (await stat(a)).dev === (await stat(b)).dev;
  } catch {
    return false;
  }
}

export async function installLock(lock: Lock, opts: InstallOptions): Promise<InstallResult> {
  const started = Date.now();
  const progress = opts.progress ?? SILENT_PROGRESS;
  checkPrefix(opts.prefix);
  if (!lock.platforms.includes(opts.platform)) {
    throw new InputError("install.platform", `the lock has no ${opts.platform} packages (it has: ${lock.platforms.join(", ")})`, { hint: "add the platform to the spec and lock again, or pass --platform" });
  }
  const packages = installOrder(lock.packages.filter((p) => p.platform === opts.platform && p.manager === "conda"));
  const pythonVersion = pythonVersionOf(packages);
  await mkdir(dirname(opts.prefix), { recursive: true });
  await removeStalePartials(opts.prefix, opts.log);

  // 1. fetch and extract into the package cache
  const fetchStarted = Date.now();
  const limit = pLimit(Math.max(1, opts.concurrency));
  const fetchPhase = progress.phase("fetch", packages.length, "packages");
  const extracted = new Map<string, ExtractedPackage>();
  let failure: unknown;
  // After the first failure the queued packages are skipped, and downloads already running are waited for:
  // nothing keeps writing into the cache after install returns.
  const results = await Promise.allSettled(
    packages.map((p) =>
      limit(async () => {
        if (failure !== undefined) return;
        try {
          extracted.set(p.url, await opts.cache.ensure(p));
          fetchPhase.tick();
        } catch (e) {
          failure ??= e;
          throw e;
        }
      }),
    ),
  );
  if (failure !== undefined || results.some((r) => r.status === "rejected")) {
    fetchPhase.done("failed");
    throw failure ?? (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason;
  }
  fetchPhase.done();
  const fetchMs = Date.now() - fetchStarted;

  // 2. link into a partial folder, renamed into place at the end
  const staging = `${opts.prefix}.partial-${randomBytes(4).toString("hex")}`;
  await mkdir(staging);
  await writeFile(join(staging, PARTIAL_MARKER), JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
  const linkStarted = Date.now();
  let files = 0;
  const linkTypes = new Set<"hardlink" | "copy">();
  try {
    const ctx: LinkContext = {
      prefix: opts.prefix,
      staging,
      platform: opts.platform,
      hardlinks: await sameFilesystem(opts.cache.root, staging),
      ...(pythonVersion ? { pythonVersion } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    };
    const requested = new Map((opts.requested ?? []).map((s) => [/^[^\s=<>!~[]+/.exec(s.replace(/^.*::/, ""))?.[0]?.toLowerCase() ?? s, s]));
    const linkPhase = progress.phase("link", packages.length, "packages");
    const records: ExtractedPackage[] = [];
    for (const p of packages) {
      const pkg = extracted.get(p.url);
      if (!pkg) throw new InfraError("install.missing", `${p.filename} was not fetched`);
      if (opts.linkScripts) await runLinkScript("pre-link", pkg, { prefix: staging, timeoutMs: opts.scriptTimeoutMs ?? 300_000, ...(opts.log ? { log: opts.log } : {}) });
      const linked = await linkPackage(pkg, ctx);
      files += linked.files.length;
      linkTypes.add(linked.linkType);
      const spec = requested.get(p.name);
      await writeCondaMetaRecord(staging, pkg, linked, { prefix: opts.prefix, ...(spec !== undefined ? { requestedSpec: spec } : {}) });
      records.push(pkg);
      linkPhase.tick();
    }
    await writeHistory(staging, records, { specs: opts.requested ?? [] });
    await writeState(staging, opts.variables ?? {});
    linkPhase.done(`${files} files`);
    await rm(join(staging, PARTIAL_MARKER));
    try {
      await rename(staging, opts.prefix);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTEMPTY") throw new InputError("install.prefix-exists", `${opts.prefix} appeared while installing; it was not overwritten`);
      throw new InfraError("install.rename", `cannot move the finished environment to ${opts.prefix}`, { cause: e });
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }

  // 3. post-link scripts run in the final prefix (they may write its path); a failure removes it.
  if (opts.linkScripts) {
    try {
      for (const p of packages) {
        const pkg = extracted.get(p.url) as ExtractedPackage;
        await runLinkScript("post-link", pkg, { prefix: opts.prefix, timeoutMs: opts.scriptTimeoutMs ?? 300_000, ...(opts.log ? { log: opts.log } : {}) });
      }
    } catch (e) {
      await rm(opts.prefix, { recursive: true, force: true });
      throw e;
    }
  }
  const linkMs = Date.now() - linkStarted;
  return {
    prefix: opts.prefix,
    packages: packages.length,
    files,
    linkType: linkTypes.size > 1 ? "mixed" : ([...linkTypes][0] ?? "copy"),
    ms: { fetch: fetchMs, link: linkMs, total: Date.now() - started },
  };
}
