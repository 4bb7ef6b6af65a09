/**
 * The prefix of a build: `<state>/builds/<key12>-<name>/`, installed once per key and reused by
 * every later build with the same packages and variables (also when another worker installed it
 * a moment ago), with the installation's permissions applied before any build makes it current.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isCondaopsError } from "../../errors.ts";
import { installLock } from "../install/install.ts";
import type { Lock } from "../lock/types.ts";
import { lineProgress } from "../progress.ts";
import { applyPermissions } from "./permissions.ts";
import type { BuildTarget } from "./select.ts";
import type { BuildServices } from "./services.ts";

/**
 * The folder key of a prefix: its environment hash, mixed with the spec's variables when it sets
 * any (they are written into the prefix's conda-meta/state, so two specs with the same packages
 * but different variables must not share one prefix).
 */
export function prefixKey(environmentHash: string, variables: Record<string, string>): string {
  const keys = Object.keys(variables).sort();
  if (keys.length === 0) return environmentHash;
  return createHash("sha256").update(environmentHash).update(JSON.stringify(keys.map((k) => [k, variables[k]]))).digest("hex");
}

export interface BuildPrefix {
  prefix: string;
  platform: string;
  environmentHash: string;
  /** An earlier build (or another worker) had installed it. */
  reused: boolean;
}

export async function prefixForBuild(
  services: BuildServices,
  lock: Lock,
  target: BuildTarget,
  platform: string,
  environmentHash: string,
  log: (line: string) => void,
  buildId?: number,
): Promise<BuildPrefix> {
  const prefix = services.layout.prefixFor(prefixKey(environmentHash, target.effective.variables), target.name);
  // Recorded before looking: gc removes a prefix only when no live build records it, under the
  // same lock, so either it sees this build or this build sees the prefix gone and installs it.
  if (buildId !== undefined) await services.store.claimPrefix(buildId, prefix);
  let reused = existsSync(prefix);
  if (reused) {
    log(`reusing ${prefix}: an earlier build has the same environment hash`);
  } else {
    try {
      const r = await installLock(lock, {
        prefix,
        platform,
        cache: services.cache,
        concurrency: services.config.install.concurrency,
        linkScripts: services.config.install.linkScripts,
        compilePython: services.config.install.compilePython,
        variables: target.effective.variables,
        requested: target.effective.dependencies,
        progress: services.progress ? services.progress(log) : lineProgress(log),
        log,
      });
      log(`installed ${r.packages} packages (${r.files} files, ${r.linkType}) into ${prefix}`);
    } catch (e) {
      // Another worker finished the same environment hash first: same packages, same prefix.
      if (!(isCondaopsError(e) && e.code === "install.prefix-exists" && existsSync(prefix))) throw e;
      reused = true;
      log(`reusing ${prefix}: another build installed the same environment hash meanwhile`);
    }
  }
  // Also on reuse: a crash between installing and this step must not leave the wrong owners.
  const { permissions: mode, uid, gid } = services.config.build;
  if (mode !== undefined || uid !== undefined || gid !== undefined) {
    await applyPermissions(prefix, { ...(mode !== undefined ? { mode } : {}), ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) });
    log(`permissions applied (${[mode !== undefined ? `mode ${mode.toString(8)}` : "", uid !== undefined ? `uid ${uid}` : "", gid !== undefined ? `gid ${gid}` : ""].filter(Boolean).join(", ")})`);
  }
  return { prefix, platform, environmentHash, reused };
}
