/**
 * One state folder serves one environments repository: `envs/<ns>/<name>`, `pins/` and artifact
 * keys are not scoped by repository, so a second repository (or the same one named another way,
 * by path and by URL) would point the same links at different builds. `<state>/repository`
 * records which; read-only commands (`artifacts`, `gc`) find their repository through it.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { writeFileAtomic } from "../../fs/write-atomic.ts";
import type { BuildStore } from "../../store/types.ts";

const markerOf = (stateDir: string): string => join(stateDir, "repository");

/** The repository whose builds the state folder holds; undefined before its first build. */
export async function readStateOwner(stateDir: string): Promise<string | undefined> {
  try {
    return (await readFile(markerOf(stateDir), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function claimStateFolder(stateDir: string, identity: string): Promise<void> {
  const owner = await readStateOwner(stateDir);
  if (owner === undefined) {
    await mkdir(stateDir, { recursive: true });
    await writeFileAtomic(markerOf(stateDir), `${identity}\n`);
    return;
  }
  if (owner !== identity) {
    throw new UsageError("build.state-owner", `the state folder ${stateDir} holds the builds of ${owner}, not ${identity}`, {
      hint: "use another --state for this repository (or name the repository the way it was named before: path or URL)",
    });
  }
}

const nothingBuilt = (stateDir: string): UsageError =>
  new UsageError("state.empty", `nothing was built in the state folder ${stateDir}`, { hint: "pass --state (or state: in the configuration) naming the folder condaops build used" });

/** Before opening the store: a read-only command must not create a database in a folder it was wrongly pointed at. */
export async function requireStateOwner(stateDir: string): Promise<string> {
  const identity = await readStateOwner(stateDir);
  if (identity === undefined) throw nothingBuilt(stateDir);
  return identity;
}

/** The state folder's repository as recorded in the database; a usage error when nothing was built there. */
export async function stateRepository(stateDir: string, store: BuildStore): Promise<{ identity: string; repositoryId: number }> {
  const identity = await requireStateOwner(stateDir);
  const repositoryId = await store.findRepository(identity);
  if (repositoryId === undefined) throw nothingBuilt(stateDir);
  return { identity, repositoryId };
}
