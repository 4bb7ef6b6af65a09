export { loadConfig, DEFAULT_CONFIG_FILE } from "./load.ts";
export type { LoadConfigOptions } from "./load.ts";
export type { Config, ChannelCredential, VirtualPackageVersions, StorageConfig, OciConfig, OciRegistryCredential } from "./types.ts";
export { DEFAULT_VIRTUAL_PACKAGES, DEFAULT_MIN_FREE_SPACE } from "./types.ts";
