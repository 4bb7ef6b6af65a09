/**
 * The alternative installer (`install.installer: micromamba`): micromamba creates the prefix from
 * the conda-lock file. It writes straight into the prefix, so atomicity is condaops': a failed
 * run's prefix is removed.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { InfraError, InputError } from "../../errors.ts";
import { serializeCondaLock } from "../lock/conda-lock-v1.ts";
import type { Lock } from "../lock/types.ts";

export async function micromambaAvailable(): Promise<string | undefined> {
  try {
    const r = await execa("micromamba", ["--version"], { reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function installWithMicromamba(lock: Lock, opts: { prefix: string; platform: string; log?(line: string): void }): Promise<void> {
  if (!(await micromambaAvailable())) {
    throw new InfraError("install.micromamba-missing", "install.installer is micromamba, but micromamba is not on the PATH", { hint: "install micromamba, or set install.installer: condaops" });
  }
  const dir = await mkdtemp(join(tmpdir(), "condaops-mm-"));
  try {
    const file = join(dir, "conda-lock.yml");
    await writeFile(file, serializeCondaLock({ ...lock, platforms: [opts.platform], packages: lock.packages.filter((p) => p.platform === opts.platform) }));
    const r = await execa("micromamba", ["create", "--yes", "--prefix", opts.prefix, "--file", file], { reject: false, all: true, env: { CONDA_SUBDIR: opts.platform } });
    for (const line of String(r.all ?? "").split("\n")) if (line.trim()) opts.log?.(line);
    if (r.exitCode !== 0) {
      await rm(opts.prefix, { recursive: true, force: true });
      throw new InputError("install.micromamba", `micromamba create failed (exit ${r.exitCode})`, { hint: "see its output above" });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
