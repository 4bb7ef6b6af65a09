/**
 * Virtual packages (`__glibc`, `__cuda`, `__osx`, ...) describe the machine an environment will
 * run on. A build server is not that machine, so they are never detected: they come from the
 * target platform, the configured versions, and the spec's `CONDA_OVERRIDE_*` variables (conda's
 * own override names, so `CONDA_OVERRIDE_CUDA: "12"` in a spec means what it means to conda).
 * They are handed to the solver as ordinary repodata records of a channel of their own.
 */
import type { VirtualPackageVersions } from "../../config/types.ts";
import type { RepodataRecord } from "../channels/repodata.ts";

const ARCH: Record<string, string> = {
  "64": "x86_64",
  "32": "x86",
  aarch64: "aarch64",
  arm64: "arm64",
  ppc64le: "ppc64le",
  ppc64: "ppc64",
  s390x: "s390x",
  armv6l: "armv6l",
  armv7l: "armv7l",
  riscv64: "riscv64",
  loong64: "loong64",
};

function record(name: string, version: string, build: string, subdir: string): RepodataRecord {
  return { name, version, build, build_number: 0, depends: [], subdir, fn: `${name}-${version}-${build}.tar.bz2` };
}

/** The virtual packages of a target platform. `variables` are the spec's (CONDA_OVERRIDE_*). */
export function virtualPackages(platform: string, versions: VirtualPackageVersions, variables: Record<string, string> = {}): RepodataRecord[] {
  const [os = "", archKey = ""] = platform.split("-");
  const override = (name: string, fallback: string | undefined): string | undefined => {
    const v = variables[`CONDA_OVERRIDE_${name}`];
    if (v === undefined) return fallback;
    return v.trim() === "" ? undefined : v.trim(); // conda: an empty override removes the package
  };
  const out: RepodataRecord[] = [];
  const arch = override("ARCHSPEC", ARCH[archKey]);
  if (arch) out.push(record("__archspec", "1", arch, platform));
  if (os === "linux" || os === "osx" || os === "freebsd") out.push(record("__unix", "0", "0", platform));
  if (os === "linux") {
    const linux = override("LINUX", versions.linux);
    if (linux) out.push(record("__linux", linux, "0", platform));
    const glibc = override("GLIBC", versions.glibc);
    if (glibc) out.push(record("__glibc", glibc, "0", platform));
  }
  if (os === "osx") {
    const osx = override("OSX", versions.osx);
    if (osx) out.push(record("__osx", osx, "0", platform));
  }
  if (os === "win") {
    const win = override("WIN", versions.win);
    if (win) out.push(record("__win", win, "0", platform));
  }
  const cuda = override("CUDA", undefined);
  if (cuda && os !== "osx") out.push(record("__cuda", cuda, "0", platform));
  return out;
}

export const isVirtual = (name: string): boolean => name.startsWith("__");
