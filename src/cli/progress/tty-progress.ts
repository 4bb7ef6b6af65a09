/** Progress bars on a terminal (cli-progress), one bar per phase, with the phase's closing line kept. */
import cliProgress from "cli-progress";
import { phaseLine } from "../../builder/progress.ts";
import type { Progress } from "../../builder/progress.ts";

export function ttyProgress(stream: NodeJS.WriteStream): Progress {
  return {
    phase(name, total, unit) {
      const started = Date.now();
      const bytes = unit === "bytes";
      const bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${name.padEnd(12)} {bar} {percentage}% | {value}/{total} ${bytes ? "MB" : unit}`,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      let value = 0;
      let size = total;
      const scale = (n: number) => (bytes ? Math.round(n / 1e5) / 10 : n);
      bar.start(scale(size), 0);
      return {
        tick(n = 1) {
          value += n;
          bar.update(scale(value));
        },
        addTotal(n) {
          size += n;
          bar.setTotal(scale(size));
        },
        done(summary) {
          bar.stop();
          stream.write(`${phaseLine(name, unit, value, size, started, summary)}\n`);
        },
      };
    },
  };
}
