/**
 * The OCI image JSON documents (descriptor, index, manifest, config) and their media types, with
 * readers for untrusted input: a base image's documents come from a folder or a registry that
 * condaops does not control, so each one is checked for the fields condaops relies on and any
 * fault becomes an InputError naming the document. Docker's schema 2 equivalents are read too
 * (registries still serve them) and their layers are described with OCI media types on output.
 */
import { InputError } from "../../errors.ts";
import { checkDigest } from "./digest.ts";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** The `annotations` key naming an image in a layout's index.json (its tag). */
export const REF_NAME = "org.opencontainers.image.ref.name";

/** Bigger manifests, indexes and configs are refused (registries cap manifests at 4 MiB). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  [key: string]: unknown;
}

/** An image configuration: the fields condaops reads or writes; anything else a base image has is kept as it is. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: { Env?: string[]; Labels?: Record<string, string>; [key: string]: unknown };
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

export const isIndexType = (mediaType: string | undefined): boolean => mediaType === MEDIA_TYPES.index || mediaType === MEDIA_TYPES.dockerManifestList;
export const isManifestType = (mediaType: string | undefined): boolean => mediaType === MEDIA_TYPES.manifest || mediaType === MEDIA_TYPES.dockerManifest;

const malformed = (where: string, why: string): InputError =>
  new InputError("oci.malformed", `${where}: ${why}`, { hint: "the base image is malformed; rebuild or re-pull it" });

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseJsonObject(data: Buffer | string, where: string): Json {
  if (data.length > MAX_DOCUMENT_BYTES) throw malformed(where, `larger than ${MAX_DOCUMENT_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(typeof data === "string" ? data : data.toString("utf8"));
  } catch (e) {
    throw malformed(where, `invalid JSON (${(e as Error).message})`);
  }
  if (!isObject(value)) throw malformed(where, "expected a JSON object");
  return value;
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) throw malformed(where, "expected an object of strings");
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw malformed(where, "a descriptor must be an object");
  if (typeof v.mediaType !== "string" || v.mediaType === "") throw malformed(where, "the descriptor has no mediaType");
  const digest = checkDigest(v.digest, where);
  if (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) throw malformed(where, `size ${JSON.stringify(v.size)} is not a byte count`);
  const d: Descriptor = { mediaType: v.mediaType, digest, size: v.size };
  const annotations = stringMap(v.annotations, `${where}.annotations`);
  if (annotations) d.annotations = annotations;
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.architecture !== "string" || typeof p.os !== "string") throw malformed(where, "platform needs architecture and os");
    d.platform = { architecture: p.architecture, os: p.os, ...(typeof p.variant === "string" ? { variant: p.variant } : {}) };
  }
  return d;
}

function schemaVersion2(v: Json, where: string): void {
  if (v.schemaVersion !== 2) throw malformed(where, `schemaVersion ${JSON.stringify(v.schemaVersion)} is not supported (only 2)`);
}

export function parseIndex(data: Buffer | string, where: string): ImageIndex {
  const v = parseJsonObject(data, where);
  schemaVersion2(v, where);
  if (!Array.isArray(v.manifests)) throw malformed(where, '"manifests" must be a list');
  const index: ImageIndex = { schemaVersion: 2, manifests: v.manifests.map((m, i) => parseDescriptor(m, `${where}: manifests[${i}]`)) };
  if (typeof v.mediaType === "string") index.mediaType = v.mediaType;
  const annotations = stringMap(v.annotations, `${where}: annotations`);
  if (annotations) index.annotations = annotations;
  return index;
}

/** A manifest; `mediaType` is what the document was served or described as when it does not say itself. */
export function parseManifest(data: Buffer | string, where: string, mediaType?: string): ImageManifest {
  const v = parseJsonObject(data, where);
  schemaVersion2(v, where);
  const type = typeof v.mediaType === "string" ? v.mediaType : mediaType;
  if (!isManifestType(type)) throw malformed(where, `not an image manifest (media type ${JSON.stringify(type ?? null)})`);
  if (!Array.isArray(v.layers)) throw malformed(where, '"layers" must be a list');
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: type as string,
    config: parseDescriptor(v.config, `${where}: config`),
    layers: v.layers.map((l, i) => parseDescriptor(l, `${where}: layers[${i}]`)),
  };
  const annotations = stringMap(v.annotations, `${where}: annotations`);
  if (annotations) manifest.annotations = annotations;
  return manifest;
}

export function parseImageConfig(data: Buffer | string, where: string): ImageConfig {
  const v = parseJsonObject(data, where);
  if (typeof v.architecture !== "string" || typeof v.os !== "string") throw malformed(where, "architecture and os are required");
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids)) throw malformed(where, 'rootfs must be {"type": "layers", "diff_ids": [...]}');
  rootfs.diff_ids.forEach((d, i) => checkDigest(d, `${where}: rootfs.diff_ids[${i}]`));
  if (v.config !== undefined && v.config !== null) {
    if (!isObject(v.config)) throw malformed(where, '"config" must be an object');
    const env = v.config.Env;
    if (env !== undefined && env !== null && (!Array.isArray(env) || env.some((e) => typeof e !== "string"))) throw malformed(where, "config.Env must be a list of strings");
    stringMap(v.config.Labels, `${where}: config.Labels`);
  }
  if (v.history !== undefined && v.history !== null && (!Array.isArray(v.history) || !v.history.every(isObject))) throw malformed(where, '"history" must be a list of objects');
  return v as ImageConfig;
}

/**
 * The OCI media type a base layer is written with. Docker's gzip layers are the same bytes as
 * OCI's; non-distributable (foreign) layers cannot be copied and are refused.
 */
export function outputLayerType(mediaType: string, where: string): string {
  if (mediaType === MEDIA_TYPES.dockerLayerGzip) return MEDIA_TYPES.layerGzip;
  if (mediaType === MEDIA_TYPES.layerGzip || mediaType === MEDIA_TYPES.layerTar || mediaType === MEDIA_TYPES.layerZstd) return mediaType;
  throw new InputError("oci.layer-type", `${where}: layer media type ${JSON.stringify(mediaType)} is not supported`, {
    hint: "use a base image made of ordinary tar, tar+gzip or tar+zstd layers (foreign and non-distributable layers cannot be copied)",
  });
}
