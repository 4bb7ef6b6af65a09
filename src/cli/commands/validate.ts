import type { CommandModule } from "../command.ts";

export const validateCommand: CommandModule = {
  name: "validate",
  define: (cmd) =>
    cmd
      .description("check specs against the schema and the policy")
      .argument("[files...]", "spec files (default: every spec of the repository)")
      .option("--repo <dir>", "environments repository", ".")
      .option("--base <ref>", "only specs changed since REF, judged by the policy at REF")
      .option("--effective <file>", "print the effective spec and its spec hash"),
  run: async (_cmd, _g, out) => {
    out.error("validate: not implemented yet");
    return 3;
  },
};
