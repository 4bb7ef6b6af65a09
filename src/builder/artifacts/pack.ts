/**
 * The `pack` artifact: the installed prefix as a relocatable `<name>.tar.gz` with `conda-unpack`
 * (src/builder/pack/). Written under the build's scratch folder and handed over as a stream:
 * a prefix of gigabytes never sits in memory. Windows prefixes are not packed (the unpack
 * script is POSIX sh and Windows prefix rewriting differs).
 */
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writePack } from "../pack/pack-archive.ts";
import { sourceDate } from "./source-date.ts";
import type { ArtifactInput, ArtifactMaker } from "./types.ts";

export const packArtifact: ArtifactMaker = {
  kind: "pack",
  needsPrefix: true,
  async make(input: ArtifactInput) {
    const installed = input.installed;
    if (!installed) return [];
    if (installed.platform.startsWith("win-")) {
      input.log(`pack: skipped for ${installed.platform} (conda-unpack is a POSIX sh script)`);
      return [];
    }
    await mkdir(input.workDir, { recursive: true });
    const out = join(input.workDir, `pack-${installed.platform}.tar.gz`);
    const mtime = sourceDate(input);
    await writePack({
      prefix: installed.prefix,
      out,
      cacheDir: input.cacheDir,
      label: `${input.namespace}/${input.name}@${input.commit} (${installed.platform})`,
      ...(mtime ? { mtime } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
      log: input.log,
    });
    return [{ kind: "pack", file: `${input.name}.tar.gz`, platform: installed.platform, body: () => createReadStream(out) }];
  },
};
