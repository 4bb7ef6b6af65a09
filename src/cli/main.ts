/**
 * The `condaops` command. Each subcommand lives in `commands/<name>.ts` and exports a
 * `CommandModule`; this file wires them into commander and turns errors into exit codes
 * (0 ok, 1 rejected input, 2 usage, 3 infrastructure).
 */
import { CONDAOPS_VERSION } from "../version.ts";
import { Command, CommanderError } from "commander";
import { isCondaopsError } from "../errors.ts";
import { createOutput } from "./output.ts";
import type { Streams } from "./output.ts";
import type { CommandModule, GlobalOptions } from "./command.ts";
import { commands } from "./commands/index.ts";

export async function main(argv: string[], streams?: Streams): Promise<number> {
  const out = (json: boolean) => createOutput(json, streams);
  let exitCode = 0;
  const program = new Command("condaops")
    .description("GitOps for conda environments: reviewed specs, immutable builds keyed by commit")
    .option("--config <file>", "configuration file (default: condaops.config.yaml if present)")
    .option("--json", "machine-readable output on stdout")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => (streams ?? process).stdout.write(s),
      writeErr: (s) => (streams ?? process).stderr.write(s),
    });
  program.version(CONDAOPS_VERSION, "--version");

  const globals = (): GlobalOptions => {
    const o = program.opts<{ config?: string; json?: boolean }>();
    return { config: o.config, json: Boolean(o.json) };
  };

  for (const mod of commands as CommandModule[]) {
    const cmd = mod.define(new Command(mod.name));
    cmd
      .option("--config <file>", "configuration file")
      .option("--json", "machine-readable output on stdout")
      .exitOverride();
    cmd.action(async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const local = command.opts<{ config?: string; json?: boolean }>();
      const g = globals();
      const options: GlobalOptions = { config: local.config ?? g.config, json: Boolean(local.json) || g.json };
      exitCode = await mod.run(command, options, out(options.json));
    });
    program.addCommand(cmd);
  }

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    const json = argv.includes("--json");
    const o = out(json);
    if (isCondaopsError(e)) {
      if (json) o.result({ ok: false, error: e.toJSON() });
      o.error(`error: ${e.format()}`);
      return e.exitCode;
    }
    o.error(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 3;
  }
}
