/** The `lock` artifact: the conda-lock v1 file every platform of the build was solved into. */
import { serializeCondaLock } from "../lock/conda-lock-v1.ts";
import type { ArtifactMaker } from "./types.ts";

export const lockArtifact: ArtifactMaker = {
  kind: "lock",
  needsPrefix: false,
  make: async ({ lock, lockText }) => [{ kind: "lock", file: "conda-lock.yml", platform: null, body: lockText ?? serializeCondaLock(lock) }],
};
