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
  storage: { kind: "local"; path: string };
  build: { permissions?: number; uid?: number; gid?: number };
  install: { installer: "condaops" | "micromamba"; concurrency: number; linkScripts: boolean; compilePython: boolean };
  /** The file the configuration came from, if any. */
  source?: string;
}

export const DEFAULT_VIRTUAL_PACKAGES: VirtualPackageVersions = { glibc: "2.28", linux: "5.10", osx: "11.0", win: "0" };
