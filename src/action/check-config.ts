/**
 * The configuration of a `mode: check` run. The pull request controls the checked-out tree, so a
 * configuration file inside the repository (condaops.config.yaml, or the `config` input) is read
 * from the BASE commit, never from the working tree: a PR must not point the solve at a channel of
 * its own, nor name `.git/config` (where actions/checkout keeps its token) as a channel token file.
 * The base's file is copied to a private temporary file for loadConfig. No such file at the base:
 * the defaults (and CONDAOPS_* variables). A file outside the checkout belongs to the workflow,
 * not to the PR, and is read as it is.
 */
import { existsSync } from "node:fs";
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { DEFAULT_CONFIG_FILE, loadConfig } from "../config/index.ts";
import type { Config } from "../config/index.ts";
import { openRepository } from "../git/repository.ts";
import type { GitRepository } from "../git/repository.ts";

export interface CheckConfigOptions {
  repo: GitRepository;
  baseSha: string;
  workspace: string;
  /** The `config` input (relative to the workspace); empty for the default. */
  file?: string;
  env: NodeJS.ProcessEnv;
  log(line: string): void;
}

async function realOrSelf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realOrSelf(parent), basename(path));
  }
}

/** The path relative to the repository's top level when it lies inside it (as written, or once symlinks are resolved). */
async function insideRepository(repo: GitRepository, path: string): Promise<string | undefined> {
  const roots = [repo.root, await realOrSelf(repo.root)];
  for (const candidate of [path, await realOrSelf(path)]) {
    for (const root of roots) {
      const rel = relative(root, candidate);
      if (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return rel.split(sep).join("/");
    }
  }
  return undefined;
}

async function loadText(text: string | Buffer, name: string, o: CheckConfigOptions): Promise<Config> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-config-"));
  try {
    const file = join(dir, basename(name) || DEFAULT_CONFIG_FILE);
    await writeFile(file, text, { mode: 0o600 });
    return await loadConfig({ file, cwd: o.workspace, env: o.env, warn: o.log });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadCheckConfig(o: CheckConfigOptions): Promise<Config> {
  const explicit = o.file || o.env.CONDAOPS_CONFIG || undefined;
  const name = explicit ?? DEFAULT_CONFIG_FILE;
  const path = resolve(o.workspace, name);
  const rel = await insideRepository(o.repo, path);
  if (rel === undefined) {
    if (explicit !== undefined || existsSync(path)) return await loadConfig({ file: path, cwd: o.workspace, env: o.env, warn: o.log });
    return await loadText("{}\n", name, o);
  }
  const top = o.repo.dir === o.repo.root ? o.repo : await openRepository(o.repo.root);
  const bytes = rel === "" ? undefined : await (await top.tree(o.baseSha)).read(rel);
  if (bytes === undefined) {
    o.log(`${rel || name} is not in the base commit ${o.baseSha.slice(0, 12)}: default configuration (a pull request cannot bring its own)`);
    return await loadText("{}\n", name, o);
  }
  o.log(`configuration: ${rel} as of the base commit ${o.baseSha.slice(0, 12)} (the pull request's copy is not read)`);
  return await loadText(bytes, name, o);
}
