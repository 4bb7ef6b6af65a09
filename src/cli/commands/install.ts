/** `condaops install LOCK --prefix DIR [--platform P]`: a lock into a new prefix, all or nothing. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadConfig } from "../../config/index.ts";
import { UsageError } from "../../errors.ts";
import { installLock } from "../../builder/install/install.ts";
import { installWithMicromamba } from "../../builder/install/micromamba.ts";
import { parseCondaLock } from "../../builder/lock/conda-lock-v1.ts";
import { createPackageCache } from "../../builder/package/package-cache.ts";
import { hostPlatform } from "../../builder/platform.ts";
import { lineProgress } from "../../builder/progress.ts";
import type { CommandModule } from "../command.ts";
import { ttyProgress } from "../progress/tty-progress.ts";

export const installCommand: CommandModule = {
  name: "install",
  define: (cmd) =>
    cmd
      .description("install a lock into a new prefix (all or nothing)")
      .argument("<lock>", "a conda-lock v1 file")
      .requiredOption("--prefix <dir>", "where the environment goes; must not exist")
      .option("--platform <platform>", "which of the lock's platforms (default: this machine's)"),
  run: async (cmd, globals, out) => {
    const [lockFile] = cmd.args as [string];
    const o = cmd.opts<{ prefix: string; platform?: string }>();
    const platform = o.platform ?? hostPlatform();
    if (!platform) throw new UsageError("install.platform", `cannot tell the conda platform of ${process.platform}/${process.arch}`, { hint: "pass --platform" });
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), warn: (m) => out.error(m) });
    let text: string;
    try {
      text = await readFile(lockFile, "utf8");
    } catch {
      throw new UsageError("install.no-lock", `cannot read the lock ${lockFile}`);
    }
    const lock = parseCondaLock(lockFile, text);
    const prefix = resolve(o.prefix);
    const log = (l: string) => out.progress(l);
    if (config.install.installer === "micromamba") {
      await installWithMicromamba(lock, { prefix, platform, log });
      out.result({ ok: true, prefix, installer: "micromamba" });
      out.info(`installed ${prefix} (micromamba)`);
      return 0;
    }
    const cache = createPackageCache({ root: config.cacheDir, credentials: config.channelCredentials, log });
    const progress = out.tty && process.stderr.isTTY ? ttyProgress(process.stderr) : lineProgress(log);
    const r = await installLock(lock, {
      prefix,
      platform,
      cache,
      concurrency: config.install.concurrency,
      linkScripts: config.install.linkScripts,
      compilePython: config.install.compilePython,
      progress,
      log,
    });
    out.result({ ok: true, ...r });
    out.info(`installed ${r.packages} packages (${r.files} files, ${r.linkType}) into ${r.prefix} in ${(r.ms.total / 1000).toFixed(1)} s`);
    return 0;
  },
};
