/** condaops' own version, from package.json: shown by --version and recorded in every build. */
import pkg from "../package.json" with { type: "json" };

export const CONDAOPS_VERSION: string = pkg.version;
