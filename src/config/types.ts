/** The resolved configuration: defaults applied, environment variables read, secrets loaded. */
export interface ChannelCredential {
  /** URL prefix (no trailing slash) the credential applies to. */
  prefix: string;
  token?: string;
  /** Send the token as `Authorization: Bearer` rather than as a `/t/<token>/` path segment. */
  bearer: boolean;
  username?: string;
  password?: string;
}

export interface VirtualPackageVersions {
  glibc: string;
  linux: string;
  osx: string;
  win: string;
}

export interface Config {
  /** Absolute path of the state folder. */
  state: string;
  /** Absolute path of the package and repodata cache. */
  cacheDir: string;
  channelAlias?: string;
  channelCredentials: ChannelCredential[];
  virtualPackages: VirtualPackageVersions;
  /** `url` is a secret (it may hold a password): never print it unredacted. */
  database: { url?: string };
  storage: StorageConfig;
  /** `minFreeSpace`: bytes the store's filesystem must have free for a build to start. */
  build: { permissions?: number; uid?: number; gid?: number; minFreeSpace: number };
  oci: OciConfig;
  install: { installer: "condaops" | "micromamba"; concurrency: number; linkScripts: boolean; compilePython: boolean };
  /** The file the configuration came from, if any. */
  source?: string;
}

/** Object storage: a local folder, or an S3-compatible bucket. Secrets (keys) are never printed. */
export type StorageConfig =
  | { kind: "local"; path: string }
  | {
      kind: "s3";
      /** Endpoint the builders talk to (`https://s3.internal:9000`). */
      endpoint: string;
      /** Endpoint presigned download URLs are made for, when users reach storage by another address (conda-store's external endpoint). */
      publicEndpoint?: string;
      bucket: string;
      region: string;
      /** Key prefix inside the bucket (no leading or trailing slash); "" for the whole bucket. */
      prefix: string;
      accessKey?: string;
      secretKey?: string;
      sessionToken?: string;
      /** Path-style addressing (`host/bucket/key`), as MinIO and most self-hosted servers need. */
      pathStyle: boolean;
      /** Create the bucket when it does not exist (needs the right to). */
      createBucket: boolean;
      /** Multipart part size in bytes. */
      partSize: number;
    };

export interface OciRegistryCredential {
  /** Registry host[:port] these credentials apply to. */
  host: string;
  username?: string;
  /** Password or access token (secret). */
  password?: string;
}

export interface OciConfig {
  /**
   * Base image the environment layer goes on: `oci-layout:<dir>[:<tag>]` (a local OCI image
   * layout) or a registry reference `host[:port]/repo[:tag|@digest]`. None: the environment alone.
   */
  base?: string;
  /** Push each image to `<push>/<ns>/<name>:<commit>` (`registry.example.org/condaops`). */
  push?: string;
  credentials: OciRegistryCredential[];
  /** Registry hosts spoken to over plain HTTP (a registry on 127.0.0.1 in tests or a lab). */
  insecureRegistries: string[];
}

export const DEFAULT_MIN_FREE_SPACE = 5 * 1024 ** 3;

export const DEFAULT_VIRTUAL_PACKAGES: VirtualPackageVersions = { glibc: "2.28", linux: "5.10", osx: "11.0", win: "0" };

/** S3 storage defaults: MinIO and most self-hosted servers accept us-east-1; 64 MiB parts. */
export const DEFAULT_S3_REGION = "us-east-1";
export const DEFAULT_S3_PART_SIZE = 64 * 1024 * 1024;
/** S3's smallest part (every part of a multipart upload but the last). */
export const MIN_S3_PART_SIZE = 5 * 1024 * 1024;
