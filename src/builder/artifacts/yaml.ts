/** The `yaml` artifact: a pinned environment.yml per platform (`conda env create -f`, conda-store). */
import { pinnedEnvironmentYaml } from "../lock/pinned-yaml.ts";
import type { ArtifactMaker } from "./types.ts";

export const yamlArtifact: ArtifactMaker = {
  kind: "yaml",
  needsPrefix: false,
  make: async ({ lock, effective }) =>
    lock.platforms.map((p) => ({
      kind: "yaml",
      file: `${p}.environment.yaml`,
      platform: p,
      body: pinnedEnvironmentYaml(lock, p, { name: effective.name, channelAlias: effective.channelAlias, variables: effective.variables }),
    })),
};
