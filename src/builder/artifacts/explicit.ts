/** The `explicit` artifact: an `@EXPLICIT` list per platform (`conda create --file`, micromamba). */
import { explicitFile } from "../lock/explicit.ts";
import type { ArtifactMaker } from "./types.ts";

export const explicitArtifact: ArtifactMaker = {
  kind: "explicit",
  needsPrefix: false,
  make: async ({ lock }) => lock.platforms.map((p) => ({ kind: "explicit", file: `${p}.explicit.txt`, platform: p, body: explicitFile(lock, p) })),
};
