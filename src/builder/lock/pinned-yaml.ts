/**
 * The `yaml` artifact: an environment.yml pinning every package of one platform to the exact
 * build the lock chose, for people and tools that only speak environment.yml
 * (`conda env create -f`, `mamba env create -f`, conda-store):
 *
 *   name: ml
 *   channels:
 *     - conda-forge
 *     - nodefaults
 *   dependencies:
 *     - numpy=1.26.4=py311h64a7726_0
 *     - bioconda::samtools=1.19=h50ea8bc_0
 *     - pip:
 *         - certifi==2023.7.22
 *   variables:
 *     KEY: value
 *
 * Channels are written by their short names when they live under the channel alias, in the
 * lock's priority order, and `nodefaults` is appended (as conda-lock and pixi do): without it
 * conda adds the user's `defaults` channels from .condarc, and the file would no longer say
 * where every package comes from. A package from a channel other than the first is written as
 * `channel::name=version=build`, because under strict channel priority a same-named package on
 * the first channel would otherwise shadow it. Dependencies are sorted by name.
 */
import { DEFAULT_CHANNEL_ALIAS, channelShortName, channelUrl } from "../../spec/channel.ts";
import type { Platform } from "../../spec/types.ts";
import { compareStrings, packagesForPlatform } from "./package-record.ts";
import type { Lock } from "./types.ts";
import { yamlScalar } from "./yaml-emit.ts";

export interface PinnedYamlOptions {
  /** The environment's name (`name:`). */
  name: string;
  /** Channels in priority order (names or URLs); default: the lock's channels. */
  channels?: string[];
  /** Environment variables (`variables:`), written sorted by name. */
  variables?: Record<string, string>;
  /** The alias bare channel names live under; default https://conda.anaconda.org. */
  channelAlias?: string;
}

export const NODEFAULTS = "nodefaults";

/** The pinned environment.yml of one platform of the lock. */
export function pinnedEnvironmentYaml(lock: Lock, platform: Platform, opts: PinnedYamlOptions): string {
  const alias = opts.channelAlias ?? DEFAULT_CHANNEL_ALIAS;
  const urls = [...new Set((opts.channels ?? lock.channels).filter((c) => c !== NODEFAULTS).map((c) => channelUrl(c, alias)))];
  const short = (url: string): string => channelShortName(url, alias);
  const first = urls[0];
  const packages = packagesForPlatform(lock, platform);

  const conda = packages
    .filter((p) => p.manager === "conda")
    .map((p) => {
      const pin = `${p.name}=${p.version}=${p.build}`;
      return first === undefined || p.channel === first ? pin : `${short(p.channel)}::${pin}`;
    });
  const pip = packages.filter((p) => p.manager === "pip").map((p) => `${p.name}==${p.version}`);

  const out = [`name: ${yamlScalar(opts.name)}`, "channels:"];
  for (const u of urls) out.push(`  - ${yamlScalar(short(u))}`);
  out.push(`  - ${NODEFAULTS}`);
  out.push(conda.length === 0 && pip.length === 0 ? "dependencies: []" : "dependencies:");
  for (const d of conda) out.push(`  - ${yamlScalar(d)}`);
  if (pip.length > 0) {
    out.push("  - pip:");
    for (const d of pip) out.push(`      - ${yamlScalar(d)}`);
  }
  const vars = Object.keys(opts.variables ?? {}).sort(compareStrings);
  if (vars.length > 0) {
    out.push("variables:");
    for (const k of vars) out.push(`  ${yamlScalar(k)}: ${yamlScalar(opts.variables?.[k] ?? "")}`);
  }
  return out.join("\n") + "\n";
}
