/**
 * The base image an environment layer goes on (`oci.base`): a local OCI image layout
 * (`oci-layout:<dir>[:<tag>]`) or a registry reference. Its manifest is found (by tag in the
 * layout's index.json, or the only image there; an index is resolved to the environment's
 * platform), its configuration read, and its layers copied into the new image's layout, each one
 * checked against its digest on the way. The base is only read: a malformed index, a missing or
 * altered blob, or a platform mismatch is an InputError, and nothing is written but blobs of the
 * new layout (which lives in the build's scratch folder).
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { OciRegistryCredential } from "../../config/types.ts";
import { InputError } from "../../errors.ts";
import { MAX_DOCUMENT_BYTES, REF_NAME, isIndexType, isManifestType, outputLayerType, parseImageConfig, parseIndex, parseJsonObject, parseManifest } from "./descriptors.ts";
import type { Descriptor, ImageConfig, ImageIndex, Platform } from "./descriptors.ts";
import { checkDigest, digestHex, sha256Digest } from "./digest.ts";
import { checkTag, formatImageReference, parseImageReference } from "./image-reference.ts";
import type { ImageLayout } from "./image-layout.ts";
import { RegistryClient } from "./registry-client.ts";

export const LAYOUT_PREFIX = "oci-layout:";

export interface BaseImage {
  /** For messages and the `org.opencontainers.image.base.name` annotation: the registry reference; none for a local layout (a path on the build machine). */
  name?: string;
  /** Digest of the base image's manifest. */
  manifestDigest: string;
  config: ImageConfig;
  /** The base manifest's layers, as it describes them. */
  layers: Descriptor[];
  /** Copies the layers into `layout`, each checked; returns their descriptors for the new manifest. */
  copyLayers(layout: ImageLayout, log?: (line: string) => void): Promise<Descriptor[]>;
}

export interface BaseImageOptions {
  /** The platform the image is for: an index is resolved to it, and a single image must be it. */
  platform: Platform;
  credentials?: readonly OciRegistryCredential[];
  insecureRegistries?: readonly string[];
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export type BaseSpec = { kind: "layout"; dir: string; tag?: string } | { kind: "registry"; reference: string };

/** `oci-layout:<dir>[:<tag>]` or a registry reference. A last `:<tag>` after the folder is a tag when it looks like one. */
export function parseBaseSpec(spec: string): BaseSpec {
  if (!spec.startsWith(LAYOUT_PREFIX)) return { kind: "registry", reference: spec };
  const rest = spec.slice(LAYOUT_PREFIX.length);
  const colon = rest.lastIndexOf(":");
  const tail = colon >= 0 ? rest.slice(colon + 1) : "";
  if (colon > 0 && tail !== "" && !tail.includes("/")) {
    checkTag(tail, spec);
    return { kind: "layout", dir: rest.slice(0, colon), tag: tail };
  }
  if (rest === "") throw new InputError("oci.base", "oci.base oci-layout: names no folder", { hint: "write oci-layout:<dir>[:<tag>]" });
  return { kind: "layout", dir: rest };
}

/** Where blobs come from: a layout folder or a registry repository. */
interface BlobSource {
  /** For messages. */
  label: string;
  document(d: Descriptor, what: string): Promise<Buffer>;
  stream(d: Descriptor, what: string): Promise<Readable>;
}

function mismatch(what: string, size: number, digest: string, d: Descriptor): InputError {
  return new InputError("oci.blob-digest", `${what}: its content (${size} bytes, ${digest}) does not match its descriptor (${d.size} bytes, ${d.digest})`, {
    hint: "the base image is corrupt or was tampered with; it was not used",
  });
}

function layoutSource(dir: string): BlobSource {
  const path = (d: Descriptor): string => join(dir, "blobs", "sha256", digestHex(checkDigest(d.digest, "descriptor")));
  const checkFile = async (d: Descriptor, what: string): Promise<string> => {
    const file = path(d);
    let st;
    try {
      st = await stat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new InputError("oci.missing-blob", `${what}: blob ${d.digest} is missing from ${dir}`, { hint: "the layout is incomplete; copy the whole image again" });
      throw e;
    }
    if (!st.isFile()) throw new InputError("oci.missing-blob", `${what}: blob ${d.digest} in ${dir} is not a file`, { hint: "the layout is damaged" });
    if (st.size !== d.size) throw mismatch(what, st.size, "(not read)", d);
    return file;
  };
  return {
    label: dir,
    async document(d, what) {
      if (d.size > MAX_DOCUMENT_BYTES) throw new InputError("oci.too-large", `${what} is ${d.size} bytes, more than ${MAX_DOCUMENT_BYTES}`, { hint: "the base image is malformed" });
      const data = await readFile(await checkFile(d, what));
      const digest = sha256Digest(data);
      if (data.length !== d.size || digest !== d.digest) throw mismatch(what, data.length, digest, d);
      return data;
    },
    async stream(d, what) {
      return createReadStream(await checkFile(d, what));
    },
  };
}

function registrySource(client: RegistryClient, repo: string): BlobSource {
  return {
    label: `${client.registry}/${repo}`,
    document: (d, what) => client.blobBytes(repo, d, what),
    stream: (d) => client.blobStream(repo, d),
  };
}

const platformText = (p: Platform | undefined): string => (p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}` : "(no platform)");
const matches = (have: Platform | undefined, want: Platform): boolean =>
  have !== undefined && have.os === want.os && have.architecture === want.architecture && (want.variant === undefined || have.variant === undefined || have.variant === want.variant);

/** The manifest of `index` for `want`. */
function selectPlatform(index: ImageIndex, want: Platform, where: string): Descriptor {
  const found = index.manifests.find((m) => (isManifestType(m.mediaType) || isIndexType(m.mediaType)) && matches(m.platform, want));
  if (found) return found;
  const only = index.manifests.length === 1 ? index.manifests[0] : undefined;
  if (only && only.platform === undefined) return only; // checked against the config later
  throw new InputError("oci.base-platform", `${where} has no image for ${platformText(want)} (it has ${index.manifests.map((m) => platformText(m.platform)).join(", ") || "none"})`, {
    hint: "choose a base image built for the environment's platform",
  });
}

/** Follows `d` (an index or a manifest) down to the image for `want` and reads its manifest and configuration. */
async function resolveImage(source: BlobSource, d: Descriptor, want: Platform, where: string, depth = 0): Promise<{ manifestDigest: string; config: ImageConfig; layers: Descriptor[] }> {
  if (isIndexType(d.mediaType)) {
    if (depth >= 4) throw new InputError("oci.malformed", `${where}: indexes nested deeper than 4 levels`, { hint: "the base image is malformed" });
    const index = parseIndex(await source.document(d, `${where}: index ${d.digest}`), `${where}: index ${d.digest}`);
    return resolveImage(source, selectPlatform(index, want, `${where}: index ${d.digest}`), want, where, depth + 1);
  }
  if (!isManifestType(d.mediaType)) throw new InputError("oci.malformed", `${where}: ${d.digest} has media type ${JSON.stringify(d.mediaType)}, not an image manifest or index`, { hint: "the base image is malformed" });
  const mwhere = `${where}: manifest ${d.digest}`;
  const manifest = parseManifest(await source.document(d, mwhere), mwhere, d.mediaType);
  const cwhere = `${where}: config ${manifest.config.digest}`;
  const config = parseImageConfig(await source.document(manifest.config, cwhere), cwhere);
  if (config.os !== want.os || config.architecture !== want.architecture) {
    throw new InputError("oci.base-platform", `${where} is an image for ${platformText(config)}, the environment is for ${platformText(want)}`, { hint: "choose a base image built for the environment's platform" });
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new InputError("oci.malformed", `${cwhere}: ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`, { hint: "the base image is malformed" });
  }
  manifest.layers.forEach((l, i) => outputLayerType(l.mediaType, `${mwhere}: layers[${i}]`));
  return { manifestDigest: d.digest, config, layers: manifest.layers };
}

function withCopy(source: BlobSource, image: { manifestDigest: string; config: ImageConfig; layers: Descriptor[] }, name?: string): BaseImage {
  return {
    ...(name !== undefined ? { name } : {}),
    ...image,
    async copyLayers(layout, log) {
      const out: Descriptor[] = [];
      for (const [i, l] of image.layers.entries()) {
        const what = `${source.label}: layer ${l.digest}`;
        log?.(`oci: copying base layer ${i + 1}/${image.layers.length} ${l.digest.slice(0, 19)} (${l.size} bytes)`);
        out.push(await layout.putStream(await source.stream(l, what), outputLayerType(l.mediaType, what), { digest: l.digest, size: l.size }, what));
      }
      return out;
    },
  };
}

async function fromLayout(dir: string, tag: string | undefined, want: Platform): Promise<BaseImage> {
  const root = resolve(dir);
  const where = tag ? `${root}:${tag}` : root;
  let marker: Buffer;
  try {
    marker = await readFile(join(root, "oci-layout"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new InputError("oci.base", `${root} is not an OCI image layout (no oci-layout file)`, { hint: "point oci.base at a folder made by `skopeo copy ... oci:<dir>:<tag>` or similar" });
    throw e;
  }
  const layoutVersion = parseJsonObject(marker, join(root, "oci-layout")).imageLayoutVersion;
  if (typeof layoutVersion !== "string" || !layoutVersion.startsWith("1.")) throw new InputError("oci.base", `${root}: image layout version ${JSON.stringify(layoutVersion)} is not supported`, { hint: "use an OCI image layout 1.x" });
  const indexFile = join(root, "index.json");
  let indexBytes: Buffer;
  try {
    indexBytes = await readFile(indexFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new InputError("oci.base", `${root} has no index.json`, { hint: "the layout is incomplete" });
    throw e;
  }
  const index = parseIndex(indexBytes, indexFile);
  let top: Descriptor;
  if (tag !== undefined) {
    const named = index.manifests.filter((m) => {
      const ref = m.annotations?.[REF_NAME];
      return ref === tag || (ref !== undefined && ref.endsWith(`:${tag}`));
    });
    const tags = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => t !== undefined);
    if (named.length === 0) throw new InputError("oci.base", `${root} has no image tagged ${JSON.stringify(tag)} (it has ${tags.length ? tags.map((t) => JSON.stringify(t)).join(", ") : "no tags"})`, { hint: "name a tag of the layout, or none when it holds one image" });
    top = named.length === 1 ? (named[0] as Descriptor) : selectPlatform({ schemaVersion: 2, manifests: named }, want, where);
  } else if (index.manifests.length === 1) {
    top = index.manifests[0] as Descriptor;
  } else if (index.manifests.length > 1 && index.manifests.every((m) => m.platform !== undefined)) {
    top = selectPlatform(index, want, where);
  } else {
    throw new InputError("oci.base", `${root} holds ${index.manifests.length} images`, { hint: `name one: oci-layout:${dir}:<tag>` });
  }
  return withCopy(layoutSource(root), await resolveImage(layoutSource(root), top, want, where));
}

async function fromRegistry(text: string, want: Platform, o: BaseImageOptions): Promise<BaseImage> {
  const ref = parseImageReference(text);
  const client = new RegistryClient(ref.registry, {
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.insecureRegistries ? { insecureRegistries: o.insecureRegistries } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const fetched = await client.manifest(ref.repository, ref.digest ?? ref.tag ?? "latest");
  const where = formatImageReference(ref);
  const source = registrySource(client, ref.repository);
  // The top document was fetched and checked already: serve it to resolveImage as a blob.
  const top: Descriptor = { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length };
  const cached: BlobSource = { ...source, document: (d, what) => (d.digest === top.digest ? Promise.resolve(fetched.bytes) : source.document(d, what)) };
  const image = await resolveImage(cached, top, want, where);
  return withCopy(source, image, formatImageReference({ registry: ref.registry, repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), digest: image.manifestDigest }));
}

/** Reads the base image `spec` (`oci.base`) for `o.platform`. */
export async function resolveBaseImage(spec: string, o: BaseImageOptions): Promise<BaseImage> {
  const parsed = parseBaseSpec(spec);
  return parsed.kind === "layout" ? fromLayout(parsed.dir, parsed.tag, o.platform) : fromRegistry(parsed.reference, o.platform, o);
}
