/**
 * The image configuration and manifest of an environment image: the base image's configuration
 * (or an empty one) with the environment layer added, its `bin` first on PATH, CONDA_PREFIX and
 * CONDA_DEFAULT_ENV set as `conda activate` would, and labels saying where it came from. Nothing
 * here reads the clock: `created` is given (the commit's date, else DEFAULT_CREATED), so the same
 * inputs give the same digests.
 */
import { MEDIA_TYPES } from "./descriptors.ts";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "./descriptors.ts";

/** `created` when the caller gives no date (the artifact maker gives the commit's): the epoch, like the layer's mtimes. */
export const DEFAULT_CREATED = "1970-01-01T00:00:00Z";

/** PATH of an image without a base image, or whose base sets none (Docker's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const LABELS = {
  source: "org.opencontainers.image.source",
  revision: "org.opencontainers.image.revision",
  title: "org.opencontainers.image.title",
  description: "org.opencontainers.image.description",
  environmentHash: "dev.condaops.environment-hash",
  specHash: "dev.condaops.spec-hash",
  platform: "dev.condaops.platform",
} as const;

const ARCHITECTURES: Record<string, Platform> = {
  "linux-64": { os: "linux", architecture: "amd64" },
  "linux-aarch64": { os: "linux", architecture: "arm64" },
  "linux-ppc64le": { os: "linux", architecture: "ppc64le" },
  "linux-s390x": { os: "linux", architecture: "s390x" },
  "linux-armv7l": { os: "linux", architecture: "arm", variant: "v7" },
  "linux-32": { os: "linux", architecture: "386" },
  "linux-riscv64": { os: "linux", architecture: "riscv64" },
};

/** The OCI platform of a conda platform; undefined for platforms images are not made for (osx, win, noarch). */
export function ociPlatform(condaPlatform: string): Platform | undefined {
  return ARCHITECTURES[condaPlatform];
}

/** The path of environment `name` in the image. */
export const imagePrefix = (name: string): string => `/opt/conda/envs/${name}`;

export interface EnvironmentConfigOptions {
  platform: Platform;
  /** The environment's path in the image. */
  target: string;
  /** CONDA_DEFAULT_ENV (the environment's name). */
  envName: string;
  /** diff_id of the environment layer. */
  diffId: string;
  created: string;
  labels: Record<string, string>;
  /** What made the layer, for the history entry (`condaops: data-science/analysis`). */
  createdBy: string;
  /** The base image's configuration; none for an image of the environment alone. */
  base?: ImageConfig;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => !e.startsWith(`${key}=`));
  out.push(`${key}=${value}`);
  return out;
}

/** The configuration of the image: the base's with the environment added. */
export function environmentConfig(o: EnvironmentConfigOptions): ImageConfig {
  const base: ImageConfig = o.base ? structuredClone(o.base) : { architecture: o.platform.architecture, os: o.platform.os, rootfs: { type: "layers", diff_ids: [] } };
  const inner = { ...(base.config ?? {}) };
  let env = inner.Env ?? [];
  const path = env.find((e) => e.startsWith("PATH="))?.slice("PATH=".length) || DEFAULT_PATH;
  env = setEnv(env, "PATH", `${o.target}/bin:${path}`);
  env = setEnv(env, "CONDA_PREFIX", o.target);
  env = setEnv(env, "CONDA_DEFAULT_ENV", o.envName);
  inner.Env = env;
  inner.Labels = { ...(inner.Labels ?? {}), ...o.labels };
  const config: ImageConfig = {
    ...base,
    created: o.created,
    architecture: base.architecture,
    os: base.os,
    config: inner,
    rootfs: { type: "layers", diff_ids: [...base.rootfs.diff_ids, o.diffId] },
  };
  // A base without history keeps none: a history that listed only the last layer would misdescribe the others.
  if (!o.base || base.history) config.history = [...(base.history ?? []), { created: o.created, created_by: o.createdBy, comment: `conda environment at ${o.target}` }];
  else delete config.history;
  if (!o.base && o.platform.variant) config.variant = o.platform.variant;
  return config;
}

export function imageManifest(config: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers,
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}
