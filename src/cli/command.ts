import type { Command } from "commander";
import type { Output } from "./output.ts";

export interface GlobalOptions {
  config?: string;
  json: boolean;
}

/**
 * One subcommand. `define` declares its arguments and options on the commander `Command`;
 * `run` does the work and returns the exit code (or throws a CondaopsError).
 */
export interface CommandModule {
  name: string;
  define(cmd: Command): Command;
  run(cmd: Command, globals: GlobalOptions, out: Output): Promise<number>;
}
