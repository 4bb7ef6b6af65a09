/**
 * Every artifact kind has the same small interface (a maker), so adding one (pack, oci, sbom) is
 * adding one file and a line in `index.ts`. A maker turns what the build produced into files;
 * publishing them (storage, rows) is the build job's business. A maker that also publishes
 * outside the artifact store (the image to a registry) does that in `afterStored`, which the build
 * calls only once every object of the build is stored, so a build that fails never publishes there.
 */
import type { Readable } from "node:stream";
import type { Lock } from "../lock/types.ts";
import type { ArtifactKind, EffectiveSpec } from "../../spec/types.ts";
import type { OciConfig } from "../../config/types.ts";

export interface ArtifactInput {
  namespace: string;
  name: string;
  commit: string;
  /** The commit's date (ISO 8601): the fixed timestamp of reproducible artifacts. */
  commitDate: string;
  effective: EffectiveSpec;
  lock: Lock;
  /** The lock's text when it came verbatim from the repository (a committed lock is published byte for byte). */
  lockText?: string;
  /** The installed prefix and its platform, when the host is one of the lock's platforms. */
  installed?: { prefix: string; platform: string; environmentHash: string };
  /** Where the build came from (a redacted URL or a path): the image's `org.opencontainers.image.source`. */
  repository: string;
  /** A scratch folder of this build, removed after publishing: makers write big files here and return streams. */
  workDir: string;
  /** The package cache root (extracted packages with their original placeholders). */
  cacheDir: string;
  oci: OciConfig;
  /** Aborted when the build is canceled or another artifact of the build failed: stop early. */
  signal?: AbortSignal;
  log(line: string): void;
}

export interface ArtifactFile {
  kind: ArtifactKind;
  /** File name inside `<kind>/` (`conda-lock.yml`, `linux-64.explicit.txt`). */
  file: string;
  platform: string | null;
  body: Buffer | string | (() => Readable);
}

/** One file a maker returned, as the build stored it. */
export interface StoredArtifact {
  kind: ArtifactKind;
  file: string;
  platform: string | null;
  /** Its storage key (`builds/<ns>/<name>/<commit>/<kind>/<file>`). */
  key: string;
  size: number;
  sha256: string;
}

export interface ArtifactMaker {
  kind: ArtifactKind;
  /** Needs an installed prefix (pack, oci): skipped with a log line when the host platform is not a target. */
  needsPrefix: boolean;
  make(input: ArtifactInput): Promise<ArtifactFile[]>;
  /**
   * Publishing outside the artifact store, called once every object of the build is stored
   * (build.json too) and before any row is written: a failure fails the build and its stored
   * objects are removed. `input` is the one `make` had, its `workDir` still there; `stored` is
   * every maker's stored files, in key order (what build.json lists). Returns what it published
   * (`host/repo@sha256:...`) for the build's log.
   */
  afterStored?(input: ArtifactInput, stored: readonly StoredArtifact[]): Promise<string[] | void>;
}
