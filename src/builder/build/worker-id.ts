/**
 * Who is building: `<hostname>:<pid>`, recorded on every build so that a later process can tell
 * a build whose worker died (same host, pid gone; or no heartbeat for a long time) from one
 * that is still running elsewhere.
 */
import { hostname } from "node:os";
import { processAlive } from "../../fs/process-alive.ts";

export function workerId(pid: number = process.pid): string {
  return `${hostname()}:${pid}`;
}

/**
 * A worker is gone when its heartbeat is stale, or when it ran on this host and its process is
 * not alive. `ownBuild` says whether this very process is running the build: a container that
 * keeps its hostname restarts as the same pid, so "same pid" alone proves nothing.
 */
export function workerGone(worker: string | null, heartbeatAt: string | null, now: Date, staleAfterMs: number, ownBuild: boolean): boolean {
  const beat = heartbeatAt ? Date.parse(heartbeatAt) : Number.NaN;
  if (Number.isNaN(beat) || now.getTime() - beat > staleAfterMs) return true;
  const m = worker ? /^(.*):(\d+)$/.exec(worker) : null;
  if (m && m[1] === hostname()) {
    const pid = Number(m[2]);
    return pid === process.pid ? !ownBuild : !processAlive(pid);
  }
  return false;
}
