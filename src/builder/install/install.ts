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
import { processAlive } from "../../fs/process-alive.ts";
import { installOrder } from "../lock/explicit.ts";
import type { Lock, LockedPackage } from "../lock/types.ts";
import { SILENT_PROGRESS } from "../progress.ts";
import type { Phase, Progress } from "../progress.ts";
import { compilePython } from "./compile-python.ts";
import { pythonMajorMinor } from "./noarch-python.ts";
import { writeCondaMetaRecord, writeHistory, writeState } from "./conda-meta.ts";
import { applyLink, planLink } from "./link-package.ts";
import type { LinkPlan } from "./link-package.ts";
import { runLinkScript } from "./link-scripts.ts";
import type { ExtractedPackage, LinkContext, PackageCache } from "./types.ts";

/** conda-build's binary placeholder is 255 characters: a longer prefix cannot be patched into binaries. */
export const MAX_PREFIX_LENGTH = 255;
const PARTIAL_MARKER = ".condaops-partial";
/** Packages whose info/ is read ahead of the one being linked. */
const LOOKAHEAD = 8;

export interface InstallOptions {
  /** The final prefix (absolute). Must not exist. */
  prefix: string;
  platform: string;
  cache: PackageCache;
  /** Parallel downloads and extractions. */
  concurrency: number;
  /** Run packages' pre-link/post-link scripts (they execute package code). */
  linkScripts: boolean;
  /** Byte-compile noarch: python packages with the environment's python (conda's install-time compile). */
  compilePython?: boolean;
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
    if (owner.host === hostname() && owner.pid !== undefined && owner.pid !== process.pid && processAlive(owner.pid)) continue;
    if (owner.host !== undefined && owner.host !== hostname()) continue; // another machine's; not ours to judge
    log?.(`removing ${path}, left by an install that did not finish`);
    await rm(path, { recursive: true, force: true });
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
  const python = packages.find((p) => p.name === "python");
  const pythonVersion = python ? pythonMajorMinor(python.version) : undefined;
  await mkdir(dirname(opts.prefix), { recursive: true });
  await removeStalePartials(opts.prefix, opts.log);

  // 1. fetch and extract into the package cache, in parallel (bounded). After the first failure the
  // queued packages are skipped, and fetches already running are waited for: nothing keeps writing
  // into the cache after install returns.
  const fetchStarted = Date.now();
  let fetchMs = 0;
  const limit = pLimit(Math.max(1, opts.concurrency));
  const fetchPhase = progress.phase("fetch", packages.length, "packages");
  let failure: { error: unknown } | undefined;
  let stopped = false;
  const fetched = packages.map((p) =>
    limit(async (): Promise<ExtractedPackage | undefined> => {
      if (failure || stopped) return undefined;
      try {
        const pkg = await opts.cache.ensure(p);
        fetchPhase.tick();
        return pkg;
      } catch (e) {
        failure ??= { error: e };
        throw e;
      }
    }),
  );
  for (const f of fetched) f.catch(() => undefined); // awaited in turn below; a failure is also allFetched's
  const allFetched = Promise.allSettled(fetched).then(() => {
    fetchMs = Date.now() - fetchStarted;
    if (failure) {
      fetchPhase.done("failed");
      throw failure.error;
    }
    fetchPhase.done(stopped ? "stopped" : undefined);
  });
  allFetched.catch(() => undefined);
  // Phases are reported one after the other: the link phase opens when the fetch phase closes,
  // counting the packages already linked meanwhile.
  let linkPhase: Phase | undefined;
  let linkedEarly = 0;
  allFetched.then(
    () => {
      linkPhase = progress.phase("link", packages.length, "packages");
      if (linkedEarly) linkPhase.tick(linkedEarly);
    },
    () => undefined,
  );
  // Link scripts run package code: they wait until every package is downloaded, verified and
  // extracted. Otherwise each package is linked as soon as it and those before it are in the cache.
  if (opts.linkScripts) await allFetched;

  // 2. link, in install order, into a partial folder renamed into place at the end
  const staging = `${opts.prefix}.partial-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(staging);
    await writeFile(join(staging, PARTIAL_MARKER), JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
  } catch (e) {
    stopped = true;
    await allFetched.catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const linkStarted = Date.now();
  let files = 0;
  const linkTypes = new Set<"hardlink" | "copy">();
  const extracted: ExtractedPackage[] = [];
  // conda-meta records are written while the next packages are linked.
  const metaLimit = pLimit(8);
  const metaWrites: Promise<unknown>[] = [];
  try {
    /** The package at `i` of the install order, once fetched; rejects with the install's first fetch failure. */
    const fetchedAt = async (i: number): Promise<ExtractedPackage> => {
      const pkg = await (fetched[i] as Promise<ExtractedPackage | undefined>).catch(() => undefined);
      if (pkg) return pkg;
      await allFetched; // throws the first failure
      throw new InfraError("install.missing", `${packages[i]?.filename} was not fetched`);
    };
    const ctx: LinkContext = {
      prefix: opts.prefix,
      staging,
      platform: opts.platform,
      // Known once the cache has its first package (its folder may not exist before).
      hardlinks: packages.length ? (await fetchedAt(0), await sameFilesystem(opts.cache.root, staging)) : false,
      ...(pythonVersion ? { pythonVersion } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    };
    const requested = new Map((opts.requested ?? []).map((s) => [/^[^\s=<>!~[]+/.exec(s.replace(/^.*::/, ""))?.[0]?.toLowerCase() ?? s, s]));
    // What the next packages install is read from their info/ while the current one is linked.
    const plans: Promise<LinkPlan>[] = [];
    const planAt = (i: number): Promise<LinkPlan> => {
      for (let j = plans.length; j < Math.min(packages.length, i + 1 + LOOKAHEAD); j++) {
        plans[j] = fetchedAt(j).then((pkg) => planLink(pkg, ctx));
        plans[j]?.catch(() => undefined); // awaited in turn
      }
      return plans[i] as Promise<LinkPlan>;
    };
    for (let i = 0; i < packages.length; i++) {
      const p = packages[i] as LockedPackage;
      const plan = await planAt(i);
      const pkg = plan.pkg;
      if (opts.linkScripts) {
        await Promise.all(metaWrites);
        await runLinkScript("pre-link", pkg, { prefix: staging, timeoutMs: opts.scriptTimeoutMs ?? 300_000, ...(opts.log ? { log: opts.log } : {}) });
      }
      const linked = await applyLink(plan, ctx);
      files += linked.files.length;
      linkTypes.add(linked.linkType);
      const spec = requested.get(p.name);
      metaWrites.push(metaLimit(() => writeCondaMetaRecord(staging, pkg, linked, { prefix: opts.prefix, ...(spec !== undefined ? { requestedSpec: spec } : {}) })));
      extracted.push(pkg);
      if (linkPhase) linkPhase.tick();
      else linkedEarly++;
    }
    await Promise.all(metaWrites);
    await allFetched;
    await writeHistory(staging, extracted, { specs: opts.requested ?? [] });
    await writeState(staging, opts.variables ?? {});
    linkPhase?.done(`${files} files`);
    await rm(join(staging, PARTIAL_MARKER));
    try {
      await rename(staging, opts.prefix);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTEMPTY") throw new InputError("install.prefix-exists", `${opts.prefix} appeared while installing; it was not overwritten`);
      throw new InfraError("install.rename", `cannot move the finished environment to ${opts.prefix}`, { cause: e });
    }
  } catch (e) {
    // Nothing may still be writing when the partial folder goes: queued fetches are skipped,
    // running ones and conda-meta writes are waited for.
    stopped = true;
    await allFetched.catch(() => undefined);
    await Promise.allSettled(metaWrites);
    await rm(staging, { recursive: true, force: true });
    // A fetch failure is the install's failure, as when linking waited for every fetch.
    throw failure ? failure.error : e;
  }

  // 3. post-link scripts run in the final prefix (they may write its path); a failure removes it.
  if (opts.linkScripts) {
    try {
      for (const pkg of extracted) {
        await runLinkScript("post-link", pkg, { prefix: opts.prefix, timeoutMs: opts.scriptTimeoutMs ?? 300_000, ...(opts.log ? { log: opts.log } : {}) });
      }
    } catch (e) {
      await rm(opts.prefix, { recursive: true, force: true });
      throw e;
    }
  }
  if (opts.compilePython && pythonVersion) await compilePython(opts.prefix, pythonVersion, opts.log);
  const linkMs = Date.now() - linkStarted;
  return {
    prefix: opts.prefix,
    packages: packages.length,
    files,
    linkType: linkTypes.size > 1 ? "mixed" : ([...linkTypes][0] ?? "copy"),
    ms: { fetch: fetchMs, link: linkMs, total: Date.now() - started },
  };
}
