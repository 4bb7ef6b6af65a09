#!/usr/bin/env node
// The condaops command: runs the TypeScript sources through tsx, so a fresh clone works after `npm ci`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
