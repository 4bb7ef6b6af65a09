/**
 * An environment image, start to finish without a daemon or root: the base image (if any) read
 * and its layers copied, the environment layer written from the installed prefix, configuration
 * and manifest added, `index.json` tagged, and the layout archived as `image.oci.tar`. What goes
 * into the digests: the layer depends on the environment (its files and name) only; the
 * configuration adds the base image and the labels (the commit among them), so the manifest
 * digest is the same for two builds of one environment at one commit and differs between commits
 * while their environment layers stay identical. Usable directly (benchmarks, the CLI); the
 * artifact maker (artifacts/oci.ts) adds pushing.
 */
import { mkdir, mkdtemp, rename } from "node:fs/promises";
import { join } from "node:path";
import type { OciRegistryCredential } from "../../config/types.ts";
import { InputError } from "../../errors.ts";
import { resolveBaseImage } from "./base-image.ts";
import type { BaseImage } from "./base-image.ts";
import { MEDIA_TYPES } from "./descriptors.ts";
import type { Descriptor, Platform } from "./descriptors.ts";
import { DEFAULT_CREATED, LABELS, environmentConfig, imageManifest, imagePrefix, ociPlatform } from "./image-config.ts";
import { ImageLayout, taggedManifest, writeLayoutArchive } from "./image-layout.ts";
import { checkTag } from "./image-reference.ts";
import { writeEnvironmentLayer } from "./layer.ts";

export const ARCHIVE_FILE = "image.oci.tar";

export interface OciBuildOptions {
  /** The installed prefix (absolute). */
  prefix: string;
  /** The environment's name: the image has it at `/opt/conda/envs/<name>`. */
  name: string;
  /** The environment's conda platform (`linux-64`). */
  platform: string;
  /** The package cache root the prefix was installed from: binaries are rewritten from their originals there (relocation/binary-originals.ts). */
  cacheDir?: string;
  /** A folder to work in: the layout and the archive go into a new folder under it. */
  workDir: string;
  /** `org.opencontainers.image.title` (`namespace/name`); default `name`. */
  title?: string;
  /** `org.opencontainers.image.revision`: the commit. */
  revision?: string;
  /** `org.opencontainers.image.source`: where the build came from. */
  source?: string;
  environmentHash?: string;
  specHash?: string;
  description?: string;
  /** The tag in index.json (`org.opencontainers.image.ref.name`); default the revision, else `latest`. */
  tag?: string;
  /** The configuration's `created`; default the epoch (DEFAULT_CREATED). */
  created?: string;
  /** `oci.base`: `oci-layout:<dir>[:<tag>]` or a registry reference. */
  base?: string;
  credentials?: readonly OciRegistryCredential[];
  insecureRegistries?: readonly string[];
  gzipLevel?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  log?(line: string): void;
}

export interface OciBuildResult {
  /** The archive (`<dir>/image.oci.tar`). */
  path: string;
  size: number;
  /** The image layout the archive was made of (in the same folder). */
  layoutDir: string;
  tag: string;
  platform: Platform;
  manifest: Descriptor;
  manifestDigest: string;
  configDigest: string;
  /** The environment layer: blob digest and diff_id (uncompressed). */
  layerDigest: string;
  diffId: string;
  layerSize: number;
  /** The base image's manifest digest and reference, when there is one. */
  base?: { manifestDigest: string; name?: string };
}

/** Names that can be a folder name in the image. */
const ENV_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Builds the image of an installed environment as an OCI layout and its archive. */
export async function buildOciArchive(o: OciBuildOptions): Promise<OciBuildResult> {
  const platform = ociPlatform(o.platform);
  if (!platform) throw new InputError("oci.platform", `images are made for linux platforms; ${o.platform} is not one`, { hint: "build the oci artifact on a linux platform" });
  if (!ENV_NAME.test(o.name) || o.name.length > 200) throw new InputError("oci.name", `the environment name ${JSON.stringify(o.name.slice(0, 200))} cannot be a folder in the image`, { hint: "use letters, digits, '.', '_' and '-'" });
  const tag = o.tag ?? o.revision ?? "latest";
  checkTag(tag);
  const created = o.created ?? DEFAULT_CREATED;
  const target = imagePrefix(o.name);
  const log = o.log ?? ((): void => undefined);

  await mkdir(o.workDir, { recursive: true });
  const dir = await mkdtemp(join(o.workDir, "oci-"));
  const layout = await ImageLayout.create(join(dir, "layout"));

  let base: BaseImage | undefined;
  if (o.base) {
    log(`oci: base image ${o.base}`);
    base = await resolveBaseImage(o.base, {
      platform,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      ...(o.insecureRegistries ? { insecureRegistries: o.insecureRegistries } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  const baseLayers = base ? await base.copyLayers(layout, log) : [];

  o.signal?.throwIfAborted();
  const started = Date.now();
  const layerTmp = layout.tempPath();
  const layer = await writeEnvironmentLayer({ prefix: o.prefix, target, platform: o.platform, out: layerTmp, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), ...(o.gzipLevel !== undefined ? { gzipLevel: o.gzipLevel } : {}), ...(o.signal ? { signal: o.signal } : {}), log });
  await rename(layerTmp, layout.blobPath(layer.digest));
  log(`oci: environment layer ${layer.digest} (${layer.size} bytes, ${layer.entries} entries, ${layer.relocated} files moved to ${target}, ${layer.fromPackage} of them binaries from the package cache's originals) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const labels: Record<string, string> = { [LABELS.title]: o.title ?? o.name, [LABELS.platform]: o.platform };
  if (o.revision) labels[LABELS.revision] = o.revision;
  if (o.source) labels[LABELS.source] = o.source;
  if (o.description) labels[LABELS.description] = o.description;
  if (o.environmentHash) labels[LABELS.environmentHash] = o.environmentHash;
  if (o.specHash) labels[LABELS.specHash] = o.specHash;
  const config = environmentConfig({ platform, target, envName: o.name, diffId: layer.diffId, created, labels, createdBy: `condaops: ${o.title ?? o.name}`, ...(base ? { base: base.config } : {}) });
  const configDesc = await layout.putJson(config, MEDIA_TYPES.config);
  const annotations: Record<string, string> = {};
  if (base) {
    annotations["org.opencontainers.image.base.digest"] = base.manifestDigest;
    if (base.name) annotations["org.opencontainers.image.base.name"] = base.name;
  }
  const manifest = imageManifest(configDesc, [...baseLayers, { mediaType: MEDIA_TYPES.layerGzip, digest: layer.digest, size: layer.size }], annotations);
  const manifestDesc = await layout.putJson(manifest, MEDIA_TYPES.manifest);
  await layout.writeIndex([taggedManifest(manifestDesc, tag)]);

  const path = join(dir, ARCHIVE_FILE);
  const { size } = await writeLayoutArchive(layout.dir, path);
  log(`oci: image ${manifestDesc.digest} (tag ${tag}, ${platform.os}/${platform.architecture}) archived as ${size} bytes`);
  return {
    path,
    size,
    layoutDir: layout.dir,
    tag,
    platform,
    manifest: manifestDesc,
    manifestDigest: manifestDesc.digest,
    configDigest: configDesc.digest,
    layerDigest: layer.digest,
    diffId: layer.diffId,
    layerSize: layer.size,
    ...(base ? { base: { manifestDigest: base.manifestDigest, ...(base.name ? { name: base.name } : {}) } } : {}),
  };
}
