/** The conda platform of the machine condaops runs on: what `install` installs by default. */
const OS: Partial<Record<NodeJS.Platform, string>> = { linux: "linux", darwin: "osx", win32: "win", freebsd: "freebsd" };
const ARCH: Partial<Record<string, string>> = { x64: "64", ia32: "32", arm64: "aarch64", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };

export function hostPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | undefined {
  const os = OS[platform];
  let a = ARCH[arch];
  if (!os || !a) return undefined;
  if (os === "osx" && arch === "arm64") a = "arm64";
  if (os === "win" && arch === "arm64") a = "arm64";
  return `${os}-${a}`;
}
