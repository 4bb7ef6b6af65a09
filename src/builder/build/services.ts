/**
 * What a build needs from the outside world, passed in so the same build job runs in the CLI,
 * the service's workers and the GitHub Action: the database, object storage, the store on disk,
 * channel and package access, and where progress goes.
 */
import type { BlobStorage } from "../../blobs/storage.ts";
import type { Config } from "../../config/index.ts";
import type { BuildStore } from "../../store/types.ts";
import type { RepodataGateway } from "../channels/repodata-gateway.ts";
import type { PackageCache } from "../install/types.ts";
import type { Progress } from "../progress.ts";
import type { StoreLayout } from "./store-layout.ts";

export interface BuildServices {
  store: BuildStore;
  blobs: BlobStorage;
  layout: StoreLayout;
  gateway: RepodataGateway;
  cache: PackageCache;
  config: Pick<Config, "virtualPackages" | "channelAlias" | "install" | "build" | "channelCredentials" | "cacheDir" | "oci">;
  /** The conda platform of this machine; undefined where conda has none. */
  hostPlatform: string | undefined;
  /** `<hostname>:<pid>`, recorded on the builds this process runs. */
  worker: string;
  /** Progress of the whole run (one line per phase, or bars); each build also writes its own log. */
  log(line: string): void;
  progress?(log: (line: string) => void): Progress;
  /** Aborted to cancel: the running build ends `canceled` at its next step, queued ones never start. */
  signal?: AbortSignal;
}
