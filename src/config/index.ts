export { loadConfig, DEFAULT_CONFIG_FILE } from "./load.ts";
export type { LoadConfigOptions } from "./load.ts";
export type { Config, ChannelCredential, VirtualPackageVersions } from "./types.ts";
export { DEFAULT_VIRTUAL_PACKAGES } from "./types.ts";
