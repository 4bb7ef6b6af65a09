/**
 * How long work reports progress, independent of where it is shown: the CLI draws bars on a TTY
 * and prints one line per phase otherwise; the service writes the lines to the build log.
 */
export interface Phase {
  /** `n` more units done (packages, files or bytes, as the phase was opened with). */
  tick(n?: number): void;
  /** Grows the total when it was not known at the start (bytes of downloads). */
  addTotal(n: number): void;
  /** The phase is over; `summary` is added to its closing line. */
  done(summary?: string): void;
}

export interface Progress {
  phase(name: string, total: number, unit: "packages" | "files" | "bytes"): Phase;
}

/** Reports nothing: for library callers that do not care. */
export const SILENT_PROGRESS: Progress = {
  phase: () => ({ tick: () => undefined, addTotal: () => undefined, done: () => undefined }),
};

/** The closing line of a phase: `link: 18/18 packages in 0.22 s (2150 files)`. */
export function phaseLine(name: string, unit: "packages" | "files" | "bytes", count: number, total: number, startedMs: number, summary?: string): string {
  const amount = unit === "bytes" ? `${(count / 1e6).toFixed(1)} MB` : `${count}/${total} ${unit}`;
  return `${name}: ${amount} in ${((Date.now() - startedMs) / 1000).toFixed(2)} s${summary ? ` (${summary})` : ""}`;
}

/** One line per phase when it ends, with counts and duration: logs, CI, --json and non-TTY runs. */
export function lineProgress(write: (line: string) => void): Progress {
  return {
    phase(name, total, unit) {
      const started = Date.now();
      let count = 0;
      let size = total;
      return {
        tick: (n = 1) => void (count += n),
        addTotal: (n) => void (size += n),
        done: (summary) => write(phaseLine(name, unit, count, size, started, summary)),
      };
    },
  };
}

/** Reports to both: bars for the person watching, phase lines for the build log. */
export function teeProgress(a: Progress, b: Progress): Progress {
  return {
    phase(name, total, unit) {
      const pa = a.phase(name, total, unit);
      const pb = b.phase(name, total, unit);
      return {
        tick: (n) => (pa.tick(n), pb.tick(n)),
        addTotal: (n) => (pa.addTotal(n), pb.addTotal(n)),
        done: (summary) => (pa.done(summary), pb.done(summary)),
      };
    },
  };
}
