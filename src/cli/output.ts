/**
 * How commands talk to the person (or program) that called them. `--json` sends exactly one
 * JSON document to stdout and nothing else there; human text goes to stdout, progress and
 * diagnostics to stderr. Commands get an `Output` instead of touching `process` directly, so tests
 * capture what a user would see.
 */
export interface Output {
  readonly json: boolean;
  /** Human-readable result text (suppressed in --json mode). */
  info(line: string): void;
  /** Progress and diagnostics, always to stderr. */
  progress(line: string): void;
  /** Errors and warnings for people, to stderr. */
  error(line: string): void;
  /** The machine-readable result (printed only in --json mode). */
  result(value: unknown): void;
  /** True when stderr is a terminal (progress bars allowed). */
  readonly tty: boolean;
}

export interface Streams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export function createOutput(json: boolean, streams: Streams = { stdout: process.stdout, stderr: process.stderr }): Output {
  return {
    json,
    tty: Boolean(streams.stderr.isTTY) && !json,
    info(line) {
      if (!json) streams.stdout.write(`${line}\n`);
    },
    progress(line) {
      streams.stderr.write(`${line}\n`);
    },
    error(line) {
      streams.stderr.write(`${line}\n`);
    },
    result(value) {
      if (json) streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
