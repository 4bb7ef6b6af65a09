/** The Action's entry point (bundled into action/dist/index.js): exit codes as the CLI's, errors as annotations. */
import * as core from "@actions/core";
import { isCondaopsError } from "../errors.ts";
import { actionsRunner } from "./runner.ts";
import { runAction } from "./run-action.ts";

try {
  process.exitCode = await runAction(process.env, actionsRunner);
} catch (e) {
  if (isCondaopsError(e)) {
    core.setFailed(`${e.message}${e.hint ? ` (${e.hint})` : ""}`);
    process.exitCode = e.exitCode;
  } else {
    core.setFailed(`condaops failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 3;
  }
}
