/**
 * Serves the test universe (test/fixtures/universe.ts) on 127.0.0.1 so condaops can be tried
 * offline: the server root is a channel alias, `<root>/conda-forge` and `<root>/extra` are channels.
 * `npm run fixtures:serve -- [--dir DIR] [--port 8765]`; Ctrl-C stops it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { serveChannels } from "../test/fixtures/channel.ts";
import { buildUniverse } from "../test/fixtures/universe.ts";

const { values } = parseArgs({ options: { dir: { type: "string" }, port: { type: "string", default: "8765" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${values.port} is not a port number`);
  process.exit(2);
}
const dir = values.dir ? resolve(values.dir) : await mkdtemp(join(tmpdir(), "condaops-fixtures-"));
const universe = await buildUniverse(dir);
const server = await serveChannels(dir, { port });
console.log(`built ${universe.packages.length} packages into ${dir}${universe.hasCompiler ? "" : " (no cc: prefix-bin skipped)"}`);
for (const c of universe.channels) console.log(`channel ${c}: ${server.url}/${c}`);
console.log(`try: CONDAOPS_CHANNEL_ALIAS=${server.url} npx condaops build --repo environments --all`);
console.log(`  or: npx condaops lock environments/data-science/analytics.yaml --channel-alias ${server.url}`);
console.log("Ctrl-C to stop");

const stop = async (): Promise<void> => {
  await server.close();
  if (!values.dir) await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
