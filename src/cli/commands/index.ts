/** Every subcommand, in the order `condaops --help` lists them. Adding a command is adding a file and a line here. */
import type { CommandModule } from "../command.ts";
import { artifactsCommand } from "./artifacts.ts";
import { buildCommand } from "./build.ts";
import { diffCommand } from "./diff.ts";
import { gcCommand } from "./gc.ts";
import { installCommand } from "./install.ts";
import { lockCommand } from "./lock.ts";
import { validateCommand } from "./validate.ts";

export const commands: CommandModule[] = [validateCommand, lockCommand, installCommand, buildCommand, artifactsCommand, gcCommand, diffCommand];
