/**
 * The artifact makers by kind. `log` and `build.json` are not here: the log is streamed while the
 * build runs and the build record describes the others, so the build job writes both itself.
 */
import type { ArtifactKind } from "../../spec/types.ts";
import { explicitArtifact } from "./explicit.ts";
import { lockArtifact } from "./lock.ts";
import { ociArtifact } from "./oci.ts";
import { packArtifact } from "./pack.ts";
import { sbomArtifact } from "./sbom.ts";
import type { ArtifactMaker } from "./types.ts";
import { yamlArtifact } from "./yaml.ts";

export const ARTIFACT_MAKERS: Partial<Record<ArtifactKind, ArtifactMaker>> = {
  lock: lockArtifact,
  explicit: explicitArtifact,
  yaml: yamlArtifact,
  pack: packArtifact,
  sbom: sbomArtifact,
  oci: ociArtifact,
};

/** Kinds every build publishes whatever the policy says: the next build's minimal-change solve needs the lock, and a build without its log cannot be debugged. */
export const ALWAYS_PUBLISHED: readonly ArtifactKind[] = ["lock", "log"];

export type { ArtifactFile, ArtifactInput, ArtifactMaker, StoredArtifact } from "./types.ts";
