/**
 * The `oci` artifact: an OCI image of the installed environment (at `/opt/conda/envs/<name>`, on
 * `oci.base` when set), delivered as an image layout archive `image.oci.tar` for the installed
 * platform, and pushed to `<oci.push>/<namespace>/<name>:<commit>` when pushing is configured.
 * Images are linux images: other platforms are skipped with a log line. Built without a daemon
 * and without root (src/builder/oci/). The layer's files have mtime 0, so it depends on the
 * environment only; the configuration is dated by the commit (sourceDate) and labelled with it,
 * so a rebuild of a commit gives the same image digest and another commit another one.
 *
 * `make` builds the image and leaves its layout in the scratch folder; the push is `afterStored`,
 * once the build has stored everything, so a build that fails never tags an image (the registry
 * may keep a failed push's blobs, untagged: the manifest and its tag go last).
 */
import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { specHash } from "../../spec/spec-hash.ts";
import { ARCHIVE_FILE, buildOciArchive } from "../oci/build-image.ts";
import type { Descriptor } from "../oci/descriptors.ts";
import { ociPlatform } from "../oci/image-config.ts";
import { pushReference } from "../oci/image-reference.ts";
import { pushImage } from "../oci/push.ts";
import { sourceDate } from "./source-date.ts";
import type { ArtifactMaker } from "./types.ts";

/** Left in the maker's workDir by `make` for `afterStored`: the image to push. */
const PENDING_PUSH = "push.json";

interface PendingPush {
  layoutDir: string;
  manifest: Descriptor;
}

export const ociArtifact: ArtifactMaker = {
  kind: "oci",
  needsPrefix: true,
  async make(input) {
    const installed = input.installed;
    if (!installed) {
      input.log("oci: skipped (nothing installed on this platform)");
      return [];
    }
    if (!ociPlatform(installed.platform)) {
      input.log(`oci: skipped: images are made for linux platforms, this build installed ${installed.platform}`);
      return [];
    }
    // A bad push target fails the build before minutes of layer writing.
    const target = input.oci.push ? pushReference(input.oci.push, input.namespace, input.name, input.commit) : undefined;
    const created = sourceDate(input)?.toISOString().replace(/\.000Z$/, "Z");
    const image = await buildOciArchive({
      prefix: installed.prefix,
      name: input.name,
      platform: installed.platform,
      cacheDir: input.cacheDir,
      workDir: join(input.workDir, "oci"),
      title: `${input.namespace}/${input.name}`,
      revision: input.commit,
      source: input.repository,
      environmentHash: installed.environmentHash,
      specHash: specHash(input.effective),
      ...(input.effective.description ? { description: input.effective.description } : {}),
      tag: input.commit,
      // The configuration is dated like the other artifacts (the commit's date); the layer's files keep mtime 0.
      ...(created ? { created } : {}),
      ...(input.oci.base ? { base: input.oci.base } : {}),
      credentials: input.oci.credentials,
      insecureRegistries: input.oci.insecureRegistries,
      ...(input.signal ? { signal: input.signal } : {}),
      log: input.log,
    });
    if (target) {
      const pending: PendingPush = { layoutDir: image.layoutDir, manifest: image.manifest };
      await writeFile(join(input.workDir, PENDING_PUSH), JSON.stringify(pending));
    }
    return [{ kind: "oci", file: ARCHIVE_FILE, platform: installed.platform, body: () => createReadStream(image.path) }];
  },

  async afterStored(input, stored) {
    if (!input.oci.push || !stored.some((s) => s.kind === "oci")) return [];
    let pending: PendingPush;
    try {
      pending = JSON.parse(await readFile(join(input.workDir, PENDING_PUSH), "utf8")) as PendingPush;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // make() skipped this platform
      throw e;
    }
    const target = pushReference(input.oci.push, input.namespace, input.name, input.commit);
    const pushed = await pushImage(pending.layoutDir, pending.manifest, target, {
      credentials: input.oci.credentials,
      insecureRegistries: input.oci.insecureRegistries,
      ...(input.signal ? { signal: input.signal } : {}),
      log: input.log,
    });
    return [pushed.reference];
  },
};
